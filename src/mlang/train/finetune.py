"""`fine_tune_model` (M: `fineTuneModel`): transfer learning in one call.

AdamW with linear warmup and decay, gradient accumulation and clipping, freezing by name pattern,
early stopping on a validation metric with the best weights restored, fixed seeds, CUDA with
bf16/fp16 autocast when present, a Rich progress bar, a `TrainingHistory` on `model.history`, and
safetensors checkpoints.

The step loop is kept as lean as a hand-written one: the loss stays on the device and is read
back (a host sync) only every `log_every` steps for the progress bar and history.
"""
from __future__ import annotations

import fnmatch
import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Sequence

from mlang.data.errors import data_error
from mlang.lang.diagnostics import MError
from mlang.train import tasks
from mlang.train.distributed import data_parallel
from mlang.train.history import TrainingHistory
from mlang.train.metrics import resolve_metric
from mlang.train.progress import TrainingProgress, wanted
from mlang.train.seeding import seed_everything

# What early stopping and best-checkpoint selection watch unless `metric=` says otherwise.
VALIDATION_METRIC = {"classification": "f1", "qa": "f1", "regression": "mse", "forecast": "mse"}


@data_parallel
def fine_tune_model(model, train, valid=None, *, epochs: int = 3, lr: float = 5e-5,
                    batch_size: int = 16, weight_decay: float = 0.01, warmup: float = 0.1,
                    gradient_accumulation: int = 1, max_forward_tokens: int | None = None,
                    max_grad_norm: float | None = 1.0,
                    freeze: str | Sequence[str] | None = None, freeze_encoder: bool = False,
                    freeze_embeddings: bool = False, cache_frozen: bool = False,
                    metric: str | None = None,
                    early_stopping: int | bool | None = None,
                    restore_best: bool = True, seed: int | None = 0, device=None,
                    precision: str = "auto", checkpoint_dir: str | None = None,
                    progress: bool | None = None, log_every: int = 10,
                    eval_batch_size: int | None = None, max_steps: int | None = None,
                    callbacks: Sequence[Callable] = (), resume: bool = False,
                    checkpoint_every: int | None = None):
    """Fine-tune `model` on `train` (a Dataset) and return it, with `model.history` set.

    - `warmup`: a fraction of all optimizer steps (< 1) or a number of steps; the learning rate
      then decays linearly to 0.
    - `max_forward_tokens=N`: a classification batch of more than N tokens (padding included) runs
      forward and backward in equal parts whose gradients add up to the whole batch's: the same
      update in less memory, since activations set the peak (docs/training.md).
    - `freeze`: parameter-name glob pattern(s) to keep fixed (`"encoder.layer.0.*"`);
      `freeze_encoder=true` freezes the model's encoder: its pretrained encoders whole (a
      `TextClassifier`'s MiniLM, embeddings included) and any parameter named `encoder.*`.
    - `freeze_embeddings=true` keeps each pretrained transformer's token-embedding table fixed
      (half of MiniLM's weights; on the quickstart: 53 MB less peak memory, < 1 % less time, one
      review fewer right — measured, so not the default; docs/training.md).
    - `cache_frozen=true`: the leading layers left wholly frozen (a pretrained encoder) run once
      over the data, in eval mode, and every epoch trains the layers after them on their cached
      outputs: a head on a frozen encoder for many epochs at the cost of one pass.
    - `metric`: the validation metric (default: f1 for classification and QA, mse for regression);
      `early_stopping=N` stops after N epochs without improvement; the best epoch's weights are
      restored (`restore_best`).
    - `seed`: seeds Python, numpy and torch first; seed before building a model too, since a
      pretrained model's new head is initialised when it is loaded.
    - `callbacks`: each is called as `callback(epoch=..., metrics=..., model=...)` after every
      epoch; returning True stops training (a raised exception propagates).
    - `resume=true` (with `checkpoint_dir`): keep a resumable checkpoint (`resume.safetensors`:
      weights, optimizer, scheduler, RNG states, epoch and position in it) after every epoch and
      every `checkpoint_every` optimizer steps, and continue from it when one is there.
    - `devices=N`: train data-parallel in N processes over torch.distributed (docs/hpo.md).
    """
    import torch

    from mlang.data.loaders.arrays import as_dataset
    from mlang.data.transforms import with_model_transforms
    from mlang.train.precision import pick_device, resolve_precision

    train, valid = as_dataset(train), as_dataset(valid)  # an in-memory (x, y) pair
    # The training data's deterministic image transforms become the model's input pipeline.
    train = with_model_transforms(train, model, record="always")
    valid = with_model_transforms(valid, model) if valid is not None else None
    _check_arguments(train, valid, epochs, lr, batch_size, gradient_accumulation, log_every)
    if max_forward_tokens is not None and (not isinstance(max_forward_tokens, int) or max_forward_tokens < 1):
        raise data_error(f"max_forward_tokens must be a positive integer or none, got {max_forward_tokens!r}",
                         field="max_forward_tokens")
    _check_resume_arguments(resume, checkpoint_dir, checkpoint_every)
    if seed is not None:
        seed_everything(seed)
    task = tasks.task_of(model, train)
    _adopt_task(model, task)
    _adopt_labels(model, train, task)
    chosen_metric = resolve_metric(metric or VALIDATION_METRIC[task], task) if valid is not None else None
    patience = (2 if early_stopping is True else early_stopping) or None

    if not isinstance(cache_frozen, bool):
        raise data_error(f"cache_frozen must be true or false, got {cache_frozen!r}", field="cache_frozen")
    if cache_frozen:
        from mlang.train.frozen_cache import check_cacheable

        check_cacheable(model, task, train)  # before the model is moved or frozen
    device = pick_device(device)
    model.to(device)
    trained_before = [p for p in model.parameters() if p.requires_grad]
    trainable = _apply_freezing(model, freeze, freeze_encoder, freeze_embeddings)
    precision = resolve_precision(device, precision)
    # What the step loop runs and reads: the model and data, or its tail and the cached outputs.
    run_model, run_train, run_valid = model, train, valid
    if cache_frozen:
        run_model, run_train, run_valid = _cache_frozen_layers(model, task, trained_before, train, valid,
                                                               eval_batch_size or batch_size * 2,
                                                               device, precision)
    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None

    batches_per_epoch = math.ceil(len(train) / batch_size)
    updates_per_epoch = math.ceil(batches_per_epoch / gradient_accumulation)
    total_updates = updates_per_epoch * epochs
    if max_steps is not None:
        total_updates = min(total_updates, max_steps)
    optimizer = _adamw(trainable, lr, weight_decay, device)
    scheduler = _linear_schedule(optimizer, warmup, total_updates)

    history = TrainingHistory(metric=chosen_metric.name if chosen_metric else None)
    num_labels = len(train.labels) if task == "classification" and train.labels else None
    loop = _StepLoop(run_model, task, optimizer, scheduler, scaler, trainable, device, precision,
                     gradient_accumulation, max_grad_norm, log_every, max_steps, num_labels, history,
                     max_forward_tokens)
    best_state, stale_epochs = None, 0
    start_epoch, skip_batches = 1, 0
    saver = None
    if resume:
        saver = ResumeCheckpoint(checkpoint_dir, _fingerprint(model, train, batch_size,
                                                             gradient_accumulation, epochs, seed, cache_frozen))
        restored = saver.load(model, optimizer, scheduler, scaler, device)
        if restored is not None:
            start_epoch, skip_batches = restored["epoch"], restored["batches_done"]
            best_state, stale_epochs = restored["best_state"], restored["stale_epochs"]
            _restore_history(history, restored["history"])
            loop.step = restored["step"]
            loop.partial = restored["partial"]
        loop.saver = lambda epoch, done: saver.save(model, optimizer, scheduler, scaler, history, {
            "epoch": epoch, "batches_done": done, "step": loop.step,
            "stale_epochs": stale_epochs, "partial": loop.partial_state()}, best_state)
        loop.checkpoint_every = checkpoint_every
    total_batches = min(batches_per_epoch * epochs, total_updates * gradient_accumulation)
    # A checkpoint of a run that already ended (all epochs, early stopping, max_steps) trains no more.
    finished_before = start_epoch > epochs or loop.finished or (skip_batches == 0 and history.stopped_early)
    with TrainingProgress(total_batches, wanted(progress)) as bar, _dropout_for(run_model, device):
        for epoch in range(start_epoch, epochs + 1):
            if finished_before:
                break
            started = time.perf_counter()
            if hasattr(run_train, "seek_epoch"):
                run_train.seek_epoch(epoch - 1)  # a distributed shard draws epoch `epoch`'s share
            # `batches` is called once per epoch (a distributed shard redraws its share there).
            batches = run_train.batches(batch_size, model=run_model, shuffle=True, seed=(seed or 0) + epoch,
                                    augment=True)  # random image transforms, fresh each epoch
            record = loop.run_epoch(batches, epoch, epochs, bar, skip=skip_batches)
            skip_batches = 0
            if valid is not None:
                record.update(_validate(run_model, run_valid, chosen_metric, eval_batch_size or batch_size * 2))
                bar.advance(0, **{f"valid {chosen_metric.name}": record[f"valid_{chosen_metric.name}"]})
            record["seconds"] = time.perf_counter() - started
            history.epochs.append(record)
            if valid is not None and _improved(record[f"valid_{chosen_metric.name}"],
                                               history.best_metric, chosen_metric.greater_is_better):
                history.best_epoch, history.best_metric = epoch, record[f"valid_{chosen_metric.name}"]
                best_state, stale_epochs = _snapshot(model), 0
                if checkpoint_dir and _is_main():
                    _save_checkpoint(best_state, history, checkpoint_dir)
            elif valid is not None:
                stale_epochs += 1
            elif checkpoint_dir and _is_main():
                _save_checkpoint(_snapshot(model), history, checkpoint_dir)
            stop = any(callback(epoch=epoch, metrics=dict(record), model=model) for callback in callbacks)
            if stop or (patience and stale_epochs >= patience):
                history.stopped_early = epoch < epochs
            if saver is not None:
                # The epoch is complete: a restart goes on with the next one.
                saver.save(model, optimizer, scheduler, scaler, history, {
                    "epoch": epoch + 1, "batches_done": 0, "step": loop.step,
                    "stale_epochs": stale_epochs, "partial": None}, best_state)
            if stop or (patience and stale_epochs >= patience):
                break
            if loop.finished:
                break
    if best_state is not None and restore_best:
        model.load_state_dict(best_state)
    model.eval()
    model.history = history
    return model


class _StepLoop:
    """The optimizer-step loop over one epoch's batches, kept as lean as a hand-written one."""

    def __init__(self, model, task, optimizer, scheduler, scaler, trainable, device, precision,
                 accumulation, max_grad_norm, log_every, max_steps, num_labels, history,
                 max_forward_tokens=None):
        self.model, self.task = model, task
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, scaler
        self.trainable, self.device, self.precision = trainable, device, precision
        self.accumulation, self.max_grad_norm = accumulation, max_grad_norm
        self.log_every, self.max_steps, self.num_labels = log_every, max_steps, num_labels
        self.history = history
        self.max_forward_tokens = max_forward_tokens
        self.step = 0
        # Resuming: the interrupted epoch's sums so far, and how to write a checkpoint.
        self.partial = None
        self.saver, self.checkpoint_every = None, None
        self._sums = (None, 0, 0.0, 0)

    def partial_state(self) -> dict:
        running, counted, epoch_total, epoch_batches = self._sums
        return {"running": None if running is None else float(running), "counted": counted,
                "epoch_total": epoch_total, "epoch_batches": epoch_batches}

    @property
    def finished(self) -> bool:
        return self.max_steps is not None and self.step >= self.max_steps

    def run_epoch(self, batches, epoch: int, epochs: int, bar, skip: int = 0) -> dict:
        """Train on every batch (after the first `skip`, trained before a restart); the epoch's
        record (mean loss, last learning rate)."""
        import torch

        self.model.train()
        running, counted, epoch_total, epoch_batches = None, 0, 0.0, 0
        if skip and self.partial:
            part = self.partial
            if part["running"] is not None:
                running = torch.tensor(part["running"], dtype=torch.float32, device=self.device)
            counted, epoch_total = part["counted"], part["epoch_total"]
            epoch_batches = part["epoch_batches"]
        self.partial = None
        for index, (batch, last) in enumerate(_with_last(batches)):
            if index < skip:
                continue  # the same order as before the restart: these were trained on
            batch.to(self.device)
            detached = self._forward_backward(batch, first=self.step == 0 and index == 0)
            # The loss stays on the device; it is read back only when logged.
            running = detached if running is None else running + detached
            counted += 1
            epoch_batches += 1
            if (index + 1) % self.accumulation == 0 or last:
                _optimizer_step(self.optimizer, self.scheduler, self.scaler, self.trainable,
                                self.max_grad_norm)
                self.step += 1
                stepped = True
            else:
                stepped = False
            if counted == self.log_every or last or self.finished:
                total = float(running)
                epoch_total += total
                mean = total / counted
                self.history.steps.append({"step": self.step, "epoch": epoch, "loss": mean})
                bar.advance(counted, epoch=f"{epoch}/{epochs}", loss=mean)
                running, counted = None, 0
            if self.finished:
                break
            if (stepped and not last and self.saver is not None and self.checkpoint_every
                    and self.step % self.checkpoint_every == 0):
                self._sums = (running, counted, epoch_total, epoch_batches)
                self.saver(epoch, index + 1)
        if not epoch_batches:
            raise data_error("the training data gave no batches", field="train")
        return {"epoch": epoch, "step": self.step, "train_loss": epoch_total / epoch_batches,
                "lr": self.scheduler.get_last_lr()[0]}

    def _forward_backward(self, batch, first: bool):
        """Forward and backward of one batch, in parts of at most `max_forward_tokens` tokens where
        the loss is a mean over examples (classification); the batch's mean loss, detached."""
        import torch

        from mlang.train.precision import autocast

        tokens = batch.inputs.get("input_ids") if isinstance(batch.inputs, dict) else None
        parts = (math.ceil(tokens.numel() / self.max_forward_tokens)
                 if self.max_forward_tokens and self.task == "classification"
                 and torch.is_tensor(tokens) and tokens.ndim == 2 else 1)
        total = None
        for part in batch.split(parts):
            with autocast(self.device, self.precision):
                output = tasks.call_model(self.model, part.inputs)
                if first:
                    tasks.check_output(self.task, output, self.num_labels, part.targets)
                    first = False
                loss = tasks.loss(self.task, output, part.targets) * (len(part) / len(batch))
            total = loss.detach() if total is None else total + loss.detach()
            scaled = loss / self.accumulation if self.accumulation > 1 else loss
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
        return total


def _dropout_for(model, device):
    """On CPU, dropout masks drawn in bulk (mlang.train.dropout): 12-15 % of a transformer's
    fine-tune step goes into torch's serial mask otherwise; CUDA's own kernel is fast."""
    from contextlib import nullcontext

    from mlang.train.dropout import cpu_dropout

    return cpu_dropout(model) if device.type == "cpu" else nullcontext()


def _with_last(items):
    """(item, is_last) pairs, looking one item ahead."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True


def _cache_frozen_layers(model, task, trained_before, train, valid, batch_size, device, precision):
    """The model's tail past its frozen leading layers, and the data as those layers' outputs;
    refused, the parameters that were trained before are trainable again."""
    from mlang.train.frozen_cache import CachedTail, cached, frozen_prefix

    try:
        start = frozen_prefix(model)
        train = cached(model, start, train, task, batch_size, device, precision)
        valid = cached(model, start, valid, task, batch_size, device, precision) if valid is not None else None
    except MError:
        for parameter in trained_before:
            parameter.requires_grad_(True)
        raise
    tail = CachedTail(model, start, tuple(train.examples[0][train.input_column].shape)).to(device)
    return tail, train, valid


def _check_arguments(train, valid, epochs, lr, batch_size, accumulation, log_every) -> None:
    from mlang.data import Dataset

    if not isinstance(train, Dataset):
        raise data_error(f"fineTuneModel expects a Dataset to train on, got {type(train).__name__}",
                     field="train", hint="load one (Dataset.csv(...), Dataset.sklearn(...)) or pass "
                                         "in-memory tensors / arrays as a pair (x, y)")
    if valid is not None and not isinstance(valid, Dataset):
        raise data_error(f"valid must be a Dataset, got {type(valid).__name__}", field="valid",
                     hint="pass a Dataset or an (x, y) pair of tensors / arrays")
    if len(train) == 0:
        raise data_error("the training data is empty", field="train")
    for name, value in (("epochs", epochs), ("batch_size", batch_size),
                        ("gradient_accumulation", accumulation), ("log_every", log_every)):
        if not isinstance(value, int) or value < 1:
            raise data_error(f"{name} must be a positive integer, got {value!r}", field=name)
    if not lr > 0:
        raise data_error(f"lr must be positive, got {lr!r}", field="lr")


def _adopt_task(model, task: str) -> None:
    """Record the task trained for, so evaluate / predict / serving know it later."""
    if getattr(model, "task", None) not in tasks.TASKS:
        try:
            model.task = task
        except (AttributeError, TypeError):
            pass  # a module that does not take attributes gets its task from the data each time


def _adopt_labels(model, train, task: str) -> None:
    """Give an unlabeled classifier the data's class names; refuse mismatched ones."""
    if task != "classification" or train.labels is None:
        return
    known = getattr(model, "labels", None)
    if not known:
        try:
            model.labels = list(train.labels)
        except (AttributeError, TypeError):
            pass  # a module that does not take attributes keeps predicting ids
    elif [str(x) for x in known] != [str(x) for x in train.labels]:
        raise data_error(f"the model's labels {list(known)} differ from the data's {train.labels}",
                     field="labels", hint="load the data with labels=model.labels")


def _apply_freezing(model, freeze, freeze_encoder: bool, freeze_embeddings: bool = False) -> list:
    """Freeze what was asked and return the parameters left to train."""
    if not isinstance(freeze_embeddings, bool):
        raise data_error(f"freeze_embeddings must be true or false, got {freeze_embeddings!r}",
                         field="freeze_embeddings")
    patterns = [freeze] if isinstance(freeze, str) else list(freeze or [])
    named = dict(model.named_parameters())
    frozen = set()
    if freeze_embeddings:
        tables = _token_embedding_tables(model)
        frozen |= {name for name, parameter in named.items() if id(parameter) in tables}
    for pattern in patterns:
        matched = {name for name in named if fnmatch.fnmatchcase(name, pattern)}
        if not matched:
            raise data_error(f"freeze pattern {pattern!r} matches no parameter", field="freeze",
                         hint="parameter names look like " + ", ".join(list(named)[:3]))
        frozen |= matched
    if freeze_encoder:
        encoder = {name for name in named if name.startswith("encoder.") or ".encoder." in name}
        encoder |= _pretrained_encoder_parameters(model)
        if not encoder:
            raise data_error("freeze_encoder=true but the model has no encoder", field="freeze_encoder",
                         hint="freeze parameters by name with freeze=\"pattern*\"")
        frozen |= encoder
    for name, parameter in named.items():
        if name in frozen:
            parameter.requires_grad_(False)
    trainable = [p for p in named.values() if p.requires_grad]
    if not trainable:
        raise data_error("every parameter is frozen: nothing to train", field="freeze")
    return trainable


def _pretrained_encoder_parameters(model) -> set[str]:
    """The parameter names of every pretrained encoder inside `model` (a nested MModel whose task
    is "embedding": the zoo's text and image encoders), its embeddings included."""
    from mlang.models.module import MModel

    return {f"{prefix}.{name}" for prefix, module in model.named_modules()
            if module is not model and isinstance(module, MModel) and module.task == "embedding"
            for name, _ in module.named_parameters()}


def _token_embedding_tables(model) -> set[int]:
    """The ids of the token-embedding weights of the pretrained (Hugging Face) transformers in
    `model`: what `freeze_embeddings` keeps fixed."""
    tables = set()
    for module in model.modules():
        get_embeddings = getattr(module, "get_input_embeddings", None)
        if not callable(get_embeddings):
            continue
        try:
            embeddings = get_embeddings()
        except (NotImplementedError, AttributeError):
            continue
        weight = getattr(embeddings, "weight", None)
        if weight is not None:
            tables.add(id(weight))
    return tables


def _adamw(parameters: list, lr: float, weight_decay: float, device):
    """AdamW, with no weight decay on biases and norm weights (1-D parameters)."""
    import torch

    groups = [{"params": [p for p in parameters if p.dim() > 1], "weight_decay": weight_decay},
              {"params": [p for p in parameters if p.dim() <= 1], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    all_float = all(p.is_floating_point() for p in parameters)
    try:
        # The fused kernel is the fastest step on CPU and CUDA (DESIGN §8).
        return torch.optim.AdamW(groups, lr=lr, fused=all_float)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=lr)


def _linear_schedule(optimizer, warmup: float, total_updates: int):
    """Linear warmup to the base learning rate, then linear decay to zero."""
    import torch

    warmup_steps = int(warmup * total_updates) if warmup < 1 else int(warmup)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        remaining = max(total_updates - warmup_steps, 1)
        return max(0.0, (total_updates - step) / remaining)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _optimizer_step(optimizer, scheduler, scaler, parameters: list, max_grad_norm) -> None:
    import torch

    if scaler is not None:
        scaler.unscale_(optimizer)
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm, foreach=True)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def _validate(model, valid, metric, batch_size: int) -> dict:
    from mlang.train.evaluation import evaluate_across_ranks  # each rank scores its share

    names = ["loss"] + ([metric.name] if metric.name != "loss" else [])
    report = evaluate_across_ranks(model, valid, metrics=names, batch_size=batch_size)
    return {f"valid_{name}": report[name] for name in names}


def _improved(value: float, best: float | None, greater_is_better: bool) -> bool:
    if best is None:
        return True
    return value > best if greater_is_better else value < best


def _snapshot(model) -> dict:
    """A copy of the weights on the CPU (the best epoch's, restored at the end)."""
    return {name: tensor.detach().to("cpu", copy=True) for name, tensor in model.state_dict().items()}


def _save_checkpoint(state: dict, history: TrainingHistory, directory: str) -> None:
    """`best.safetensors` (or the latest epoch's, without validation) and `history.json`."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    _save_atomically({k: v.contiguous() for k, v in state.items()}, folder / "best.safetensors")
    temporary = folder / f".history.json.tmp-{os.getpid()}"
    history.to_json(temporary)
    os.replace(temporary, folder / "history.json")


def _is_main() -> bool:
    from mlang.train.distributed import is_main_process

    return is_main_process()


def _save_atomically(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    """Write a safetensors file under a temporary name, flush it to disk and rename it into place,
    so a process killed while saving leaves the previous file whole."""
    from safetensors.torch import save_file

    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(temporary), metadata=metadata)
    with open(temporary, "rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, path)


# ----- resumable checkpoints (resume=true) -------------------------------------------------------

RESUME_FILE = "resume.safetensors"
_RESUME_FORMAT = 1


def _check_resume_arguments(resume, checkpoint_dir, checkpoint_every) -> None:
    if not isinstance(resume, bool):
        raise data_error(f"resume must be true or false, got {resume!r}", field="resume")
    if resume and not checkpoint_dir:
        raise data_error("resume=true needs a checkpoint_dir to save to and resume from",
                         field="resume", hint='pass checkpoint_dir="runs/my-run" as well')
    if checkpoint_every is not None:
        if not isinstance(checkpoint_every, int) or isinstance(checkpoint_every, bool) \
                or checkpoint_every < 1:
            raise data_error(f"checkpoint_every must be a positive number of optimizer steps, "
                             f"got {checkpoint_every!r}", field="checkpoint_every")
        if not resume:
            raise data_error("checkpoint_every is the interval of resumable checkpoints, which "
                             "resume=true writes", field="checkpoint_every",
                             hint="add resume=true and a checkpoint_dir")


def _fingerprint(model, train, batch_size, accumulation, epochs, seed, cache_frozen=False) -> dict:
    """What a checkpoint must agree with to be resumed: the model's tensors, the data and the run's
    shape (batch size, epochs, seed, process count, whether frozen layers are cached)."""
    import hashlib

    from mlang.train.distributed import world_size

    base = getattr(train, "base", train)  # a distributed shard: the whole dataset
    digest = hashlib.sha256()
    examples = base.examples
    for i in range(0, len(examples), max(1, len(examples) // 64)):
        digest.update(_plain_repr(examples[i]).encode())
    return {"parameters": {name: list(t.shape) for name, t in model.state_dict().items()},
            "train_examples": len(base), "labels": [str(x) for x in base.labels or []],
            "data_sample": digest.hexdigest()[:16], "batch_size": batch_size,
            "gradient_accumulation": accumulation, "epochs": epochs, "seed": seed,
            "processes": world_size(), **({"cache_frozen": True} if cache_frozen else {})}


def _plain_repr(value) -> str:
    """A repr that is the same in every process (no object addresses)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_plain_repr(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_plain_repr(v) for v in value) + "]"
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "tolist"):
        return f"{type(value).__name__}{list(shape)}:{value.tolist()!r}"
    return type(value).__name__


def _rng_state() -> dict:
    import random

    import numpy as np
    import torch

    name, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state = {"python": [version, list(internal), gauss],
             "numpy": [name, keys.tolist(), int(position), int(has_gauss), float(cached)],
             "torch": torch.get_rng_state().tolist()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def _set_rng_state(state: dict) -> None:
    import random

    import numpy as np
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _restore_history(history: TrainingHistory, data: dict) -> None:
    for key in ("epochs", "steps", "best_epoch", "best_metric", "stopped_early"):
        setattr(history, key, data[key])


class ResumeCheckpoint:
    """`checkpoint_dir/resume.safetensors`: one file, replaced atomically, holding the weights,
    the optimizer's tensors and the best epoch's weights as tensors, and everything else (optimizer
    hyperparameters, scheduler, gradient scaler, every rank's RNG states, epoch, batches done in
    it, history, the data order's seed) as JSON in the file's metadata.  No pickle anywhere."""

    def __init__(self, directory: str, fingerprint: dict):
        self.folder = Path(directory)
        self.path = self.folder / RESUME_FILE
        self.fingerprint = fingerprint

    def save(self, model, optimizer, scheduler, scaler, history, position: dict, best_state) -> None:
        import torch

        from mlang.train.distributed import rank, world_size

        rng = _rng_state()
        if world_size() > 1:
            import torch.distributed as dist

            gathered = [None] * world_size()
            dist.all_gather_object(gathered, rng)  # every rank's generators, written by rank 0
        else:
            gathered = [rng]
        if rank() != 0:
            return
        tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        if best_state is not None:
            tensors.update({f"best.{k}": v.contiguous() for k, v in best_state.items()})
        optimizer_state = optimizer.state_dict()
        plain_state = {}
        for index, entries in optimizer_state["state"].items():
            plain_state[str(index)] = {}
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"optimizer.{index}.{key}"] = value.detach().to("cpu").contiguous()
                else:
                    plain_state[str(index)][key] = value
        meta = {"format": _RESUME_FORMAT, "fingerprint": self.fingerprint, **position,
                "data_order": {"shuffle": True, "seed": self.fingerprint["seed"],
                               "epoch_seed": (self.fingerprint["seed"] or 0) + position["epoch"]},
                "optimizer": {"state": plain_state, "param_groups": optimizer_state["param_groups"]},
                "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": gathered, "history": history.to_dict()}
        self.folder.mkdir(parents=True, exist_ok=True)
        _save_atomically(tensors, self.path, {"mlang.resume": json.dumps(meta)})

    def load(self, model, optimizer, scheduler, scaler, device) -> dict | None:
        """Restore everything from the checkpoint; None (start fresh) when there is none."""
        from mlang.train.distributed import rank

        if not self.path.exists():
            return None
        meta, tensors = self._read()
        self._check(meta)
        model.load_state_dict({k[len("model."):]: v.to(device) for k, v in tensors.items()
                               if k.startswith("model.")})
        state = {}
        for index, entries in meta["optimizer"]["state"].items():
            state[int(index)] = dict(entries)
            prefix = f"optimizer.{index}."
            state[int(index)].update({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g
                  for g in meta["optimizer"]["param_groups"]]
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        scheduler.load_state_dict(meta["scheduler"])
        if scaler is not None and meta["scaler"] is not None:
            scaler.load_state_dict(meta["scaler"])
        _set_rng_state(meta["rng"][rank()])
        best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")} or None
        return {"epoch": meta["epoch"], "batches_done": meta["batches_done"], "step": meta["step"],
                "stale_epochs": meta["stale_epochs"], "partial": meta["partial"],
                "history": meta["history"], "best_state": best}

    def _read(self):
        from safetensors import safe_open

        try:
            with safe_open(str(self.path), framework="pt") as handle:
                meta = json.loads((handle.metadata() or {})["mlang.resume"])
                tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        except Exception as error:  # not a safetensors file, or not one of ours
            raise data_error(f"checkpoint_dir {str(self.folder)!r} holds a {RESUME_FILE} that "
                             f"cannot be resumed from ({type(error).__name__}: {error})",
                             field="checkpoint_dir",
                             hint="delete it to start fresh, or point checkpoint_dir elsewhere") from None
        return meta, tensors

    def _check(self, meta: dict) -> None:
        theirs = meta.get("fingerprint", {})
        for key, mine in self.fingerprint.items():
            if theirs.get(key) != mine:
                what = {"parameters": "a different model", "train_examples": "different data",
                        "labels": "different data", "data_sample": "different data",
                        "processes": "a different number of processes"}.get(key, f"a different {key}")
                detail = "" if key in ("parameters", "data_sample") else \
                    f": {theirs.get(key)!r} there, {mine!r} here"
                raise data_error(f"checkpoint_dir {str(self.folder)!r} holds a checkpoint of "
                                 f"{what} ({key}{detail})", field="checkpoint_dir",
                                 hint="resume with the run's own model, data and settings, or use "
                                      "a new checkpoint_dir to start fresh")
