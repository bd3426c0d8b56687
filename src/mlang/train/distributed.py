"""Multi-process data-parallel training: `fine_tune_model(..., devices=N)` and `m run --nproc N`.

Two ways in, one mechanism:

* `fine_tune_distributed(train_fn, model, train, ..., devices=N)` from an ordinary process forks
  N workers (gloo on CPU, nccl with one GPU per worker), trains in all of them and hands rank 0's
  trained model back in `model`: weights, history, task, labels and all else training set.
* Under `torchrun` (`m run --nproc N file.m` relaunches itself with `torch.distributed.run`)
  every rank runs the whole program; a training call joins the process group the launcher set up.

Inside the group each rank sees a `DistributedShard` of the training data (its share of a
`torch.utils.data.DistributedSampler` permutation, reshuffled every epoch) with a per-rank batch
of `batch_size // world_size`, so one step covers the same `batch_size` examples as a
single-process step.  Gradients are averaged across ranks by hooks that fire as each parameter's
gradient is accumulated (the all-reduce DistributedDataParallel does), so the training loop runs
unchanged.  Only rank 0 prints, logs and saves.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Callable

from mlang.lang.diagnostics import MError


# ----- where this process stands ---------------------------------------------------------------

def launched_by_torchrun() -> bool:
    """Was this process started by `torchrun` / `torch.distributed.run` with several ranks?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def rank() -> int:
    """This process's rank in the training group (0 when not distributed)."""
    group = _initialized_group()
    if group is not None:
        return group.get_rank()
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    group = _initialized_group()
    if group is not None:
        return group.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0 (and in any non-distributed process): the one process that logs and saves."""
    return rank() == 0


def group_size() -> int:
    """The number of processes in this process's initialised group (1 outside one)."""
    group = _initialized_group()
    return group.get_world_size() if group is not None else 1


def gather_from_ranks(value) -> list:
    """`value` from every rank of the group, in rank order, on every rank (`[value]` outside a
    group).  Every rank must call it; values are pickled (`all_gather_object`)."""
    group = _initialized_group()
    if group is None or group.get_world_size() == 1:
        return [value]
    gathered = [None] * group.get_world_size()
    group.all_gather_object(gathered, value)
    return gathered


def _initialized_group():
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def backend() -> str:
    """nccl when every rank can have its own GPU, else gloo."""
    import torch

    return "nccl" if torch.cuda.is_available() else "gloo"


def init_from_env() -> None:
    """Join the process group described by the launcher's environment (idempotent)."""
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return
    chosen = backend()
    if chosen == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(chosen, init_method="env://")


# ----- the data each rank sees -----------------------------------------------------------------

def shard_dataset(dataset, *, shuffle: bool = True, seed: int = 0):
    """This rank's `DistributedShard` of `dataset` (the dataset itself when not distributed)."""
    if world_size() == 1:
        return dataset
    return _shard_class()(dataset, rank(), world_size(), shuffle=shuffle, seed=seed)


@functools.cache
def _shard_class():
    from mlang.data import Dataset

    class DistributedShard(Dataset):
        """One rank's share of a dataset, redrawn by a `DistributedSampler` on every pass.

        Every call of `batches` (one per epoch in a training loop) advances the sampler's epoch,
        so the ranks split a fresh global permutation each epoch, exactly as a DataLoader with a
        DistributedSampler does.  Shards are padded to equal length so every rank takes the
        same number of steps (a rank left waiting in an all-reduce would hang the group).
        """

        def __init__(self, base, rank: int, world_size: int, *, shuffle: bool, seed: int):
            from torch.utils.data import DistributedSampler

            self.base = base
            self.sampler = DistributedSampler(range(len(base)), num_replicas=world_size,
                                              rank=rank, shuffle=shuffle, seed=seed)
            self.epoch = 0
            super().__init__(self._draw(), input_column=base.input_column,
                             target_column=base.target_column, labels=base.labels,
                             source=base.source, decoders=base.decoders,
                             ordered=base.ordered, info=base.info, transform=base.transforms)

        def _draw(self) -> list[dict]:
            self.sampler.set_epoch(self.epoch)
            return [self.base.examples[i] for i in self.sampler]

        def seek_epoch(self, epoch: int) -> None:
            """Make the next `batches` call draw pass `epoch` (0-based), as after a restart."""
            self.epoch = epoch

        def batches(self, batch_size: int = 32, model=None, **options):
            self.examples = self._draw()
            self.epoch += 1
            return super().batches(batch_size, model, **options)

    return DistributedShard


def __getattr__(name: str):
    # DistributedShard subclasses the data stage's Dataset; build it on first use so importing
    # this module stays cheap.
    if name == "DistributedShard":
        return _shard_class()
    raise AttributeError(name)


# ----- gradient averaging ----------------------------------------------------------------------

def average_gradients(model) -> Callable[[], None]:
    """Average each parameter's gradient over the group as soon as backward produces it.

    Rank 0's parameters and buffers are broadcast first so every rank starts from the same
    weights.  Returns a function that removes the hooks.
    """
    import torch.distributed as dist

    world = dist.get_world_size()
    for tensor in [*model.parameters(), *model.buffers()]:
        dist.broadcast(tensor.data, src=0)

    def hook(param):
        dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)
        param.grad.div_(world)

    handles = [p.register_post_accumulate_grad_hook(hook)
               for p in model.parameters() if p.requires_grad]

    def remove():
        for handle in handles:
            handle.remove()

    return remove


def sync_buffers(model) -> None:
    """Give every rank rank 0's buffers (running statistics drift apart between ranks)."""
    import torch.distributed as dist

    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=0)


# ----- training in a group ---------------------------------------------------------------------

# True while this process trains inside a group, so the training function it calls runs as is.
_in_group = False


def train_in_group(train_fn: Callable, model, train, *args, batch_size: int, **kwargs):
    """Run `train_fn(model, shard, *args, batch_size=per_rank, **kwargs)` on this rank.

    The process group must be initialised.  Gradients are averaged across ranks; only rank 0
    keeps its standard output and error and writes checkpoints (every rank reads them to resume).
    """
    global _in_group
    world = world_size()
    per_rank = _per_rank_batch(batch_size, world)
    shard = shard_dataset(train, seed=kwargs.get("seed") or 0)
    # Every rank keeps checkpoint_dir (each reads a resumable checkpoint); only rank 0 writes.
    remove_hooks = average_gradients(model)
    _in_group = True
    try:
        with _quiet_unless_main():
            trained = train_fn(model, shard, *args, batch_size=per_rank, **kwargs)
    finally:
        _in_group = False
        remove_hooks()
    sync_buffers(trained)
    return trained


def _per_rank_batch(batch_size: int, world: int) -> int:
    if batch_size % world:
        raise MError(f"batch_size={batch_size} does not split evenly over {world} processes",
                     field="batch_size",
                     hint=f"use a multiple of {world}, e.g. {batch_size - batch_size % world or world}")
    return batch_size // world


def data_parallel(train_fn: Callable) -> Callable:
    """Give a training function `train_fn(model, train, ..., batch_size=...)` a `devices=N`
    argument: with N > 1, or under torchrun, it trains data-parallel (see the module docstring).
    `batch_size` stays the number of examples per optimizer step, whatever N is.  A function that
    already takes `devices` (as `fineTuneModel` does) is returned as it is."""
    signature = inspect.signature(train_fn)
    if "devices" in signature.parameters:
        return train_fn
    default_batch = signature.parameters["batch_size"].default

    @functools.wraps(train_fn)
    def train_maybe_in_parallel(model, train, *args, devices: int = 1, **kwargs):
        if _in_group or (devices == 1 and not launched_by_torchrun()):
            return train_fn(model, train, *args, **kwargs)
        from mlang.data.loaders.arrays import as_dataset

        train = as_dataset(train)  # an in-memory (x, y) pair is sharded like any Dataset
        batch_size = kwargs.pop("batch_size", default_batch)
        return fine_tune_distributed(train_fn, model, train, *args, devices=devices,
                                     batch_size=batch_size, **kwargs)

    devices = inspect.Parameter("devices", inspect.Parameter.KEYWORD_ONLY, default=1,
                                annotation=int)
    parameters = list(signature.parameters.values())
    at = next((i for i, p in enumerate(parameters) if p.kind is p.VAR_KEYWORD), len(parameters))
    train_maybe_in_parallel.__signature__ = signature.replace(
        parameters=parameters[:at] + [devices] + parameters[at:])
    return train_maybe_in_parallel


@contextlib.contextmanager
def _quiet_unless_main():
    if is_main_process():
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        yield


def fine_tune_distributed(train_fn: Callable, model, train, *args, devices: int,
                          batch_size: int, **kwargs):
    """Train `model` with `train_fn` data-parallel over `devices` processes; returns `model`.

    Under torchrun the current group is used (and `devices` must match its size).  Otherwise
    `devices` workers are forked on this machine and `model` ends as rank 0's trained copy did:
    its weights, the attributes training set on it (`history`, `task`, `labels`,
    `input_transforms`, ...: see `_trained_state`), its train/eval mode and which parameters
    are frozen.
    """
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        raise MError(f"devices must be a positive int, got {devices!r}", field="devices")
    if launched_by_torchrun():
        init_from_env()
        if devices not in (1, world_size()):
            raise MError(f"devices={devices} but this program was launched with "
                         f"{world_size()} processes", field="devices",
                         hint="leave devices out under `m run --nproc N`")
        return train_in_group(train_fn, model, train, *args, batch_size=batch_size, **kwargs)
    if devices == 1:
        return train_fn(model, train, *args, batch_size=batch_size, **kwargs)
    _check_devices(devices)
    _per_rank_batch(batch_size, devices)
    with tempfile.TemporaryDirectory(prefix="mlang-ddp-") as workdir:
        _spawn(devices, _forked_worker, (Path(workdir), train_fn, model, train, args,
                                         dict(kwargs, batch_size=batch_size)))
        return _load_result(Path(workdir), model)


def _check_devices(devices: int) -> None:
    import torch

    if backend() != "nccl":
        return
    if devices > torch.cuda.device_count():
        raise MError(f"devices={devices} but only {torch.cuda.device_count()} GPU(s) are visible",
                     field="devices")
    if torch.cuda.is_initialized():
        # A forked child cannot use CUDA once its parent has.
        raise MError(f"devices={devices} needs worker processes, but this process has already "
                     "used the GPU", field="devices",
                     hint="run the program with `m run --nproc N` instead (each process then "
                          "starts fresh)")


def _spawn(nproc: int, worker: Callable, args: tuple) -> None:
    """Fork `nproc` workers running `worker(rank, nproc, port, *args)`; raise if one fails.

    Fork (not spawn) so that models and datasets defined in an M program, which need not be
    picklable, reach the workers as they are.
    """
    import torch.multiprocessing as mp

    port = _free_port()
    preload_training_modules()
    try:
        mp.start_processes(worker, args=(nproc, port, *args), nprocs=nproc, join=True,
                           start_method="fork")
    except mp.ProcessRaisedException as failure:
        error_file = args[0] / "error.json"
        if error_file.exists():
            raise MError(**json.loads(error_file.read_text())) from None
        raise MError(f"a training process failed:\n{failure}") from None


def preload_training_modules() -> None:
    """Import, once in this process, what training imports lazily on first use.

    Creating the first optimizer imports torch._dynamo (seconds); done before forking, every
    worker inherits it instead of importing it again.
    """
    import torch

    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _forked_worker(rank: int, nproc: int, port: int, workdir: Path, train_fn, model, train,
                   args: tuple, kwargs: dict) -> None:
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc))
    # The workers share the machine's cores instead of each claiming all of them.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    if backend() == "nccl":
        torch.cuda.set_device(rank)
        model.to(f"cuda:{rank}")
    dist.init_process_group(backend(), rank=rank, world_size=nproc)
    untrained = dict(vars(model))  # as the parent holds it: forked before training
    try:
        trained = train_in_group(train_fn, model, train, *args, **kwargs)
        if rank == 0:
            _save_result(workdir, trained, untrained)
    except MError as error:
        if rank == 0:
            (workdir / "error.json").write_text(json.dumps(
                {"message": str(error.diagnostics[0].message), "hint": error.diagnostics[0].hint,
                 "field": error.field}))
        raise
    finally:
        dist.destroy_process_group()


def _save_result(workdir: Path, model, untrained: dict) -> None:
    """Rank 0's trained model for the parent: weights as safetensors, the rest pickled
    (`_trained_state`) into the parent's private temporary folder."""
    import pickle

    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(workdir / "weights.safetensors"))
    (workdir / "trained.pickle").write_bytes(pickle.dumps(_trained_state(model, untrained)))


def _trained_state(model, untrained: dict) -> dict:
    """What training changed on `model` besides its tensors, for the parent's copy to take on.

    `attributes`: every plain attribute (not a parameter, buffer or submodule) that training set,
    i.e. added or rebound since `untrained` (`vars(model)` before training), pickled: whatever
    the training function records on the model (fine_tune_model: `history`, `task`, `labels`,
    `input_transforms`) comes back without a list of names here.  An object changed in place
    is not seen.  `training`: train or eval mode; `frozen`: the parameters that do not require
    gradients.
    """
    import pickle
    import warnings

    attributes = {}
    for name, value in vars(model).items():
        if name.startswith("_") or name == "training" or untrained.get(name, _UNSET) is value:
            continue
        try:
            attributes[name] = pickle.dumps(value)
        except Exception as error:  # e.g. a lambda: the parent's model goes without it
            warnings.warn(f"devices=N: the trained model's attribute {name!r} cannot be handed "
                          f"back from the training process ({type(error).__name__}: {error})",
                          stacklevel=2)
    return {"attributes": attributes, "training": model.training,
            "frozen": [name for name, p in model.named_parameters() if not p.requires_grad]}


_UNSET = object()


def _load_result(workdir: Path, model):
    import pickle

    from safetensors.torch import load_file

    state = load_file(str(workdir / "weights.safetensors"))
    device = next((p.device for p in model.parameters()), None)
    model.load_state_dict({k: v.to(device) if device else v for k, v in state.items()})
    trained = pickle.loads((workdir / "trained.pickle").read_bytes())
    for name, value in trained["attributes"].items():
        setattr(model, name, pickle.loads(value))
    model.train(trained["training"])
    frozen = set(trained["frozen"])
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in frozen)
    return model


# ----- `m run --nproc N [--nnodes N --node-rank R --rdzv-endpoint HOST:PORT --max-restarts K]` -----------------------------------------------------------------------

def relaunch_command(nproc: int, program_args: list[str], *, nnodes: int = 1, node_rank: int = 0,
                     rdzv_endpoint: str | None = None, max_restarts: int = 0) -> list[str]:
    """The torchrun command that runs `m run <program_args>` in `nproc` processes on this machine.

    With `nnodes` > 1 (or an `rdzv_endpoint`) this machine is one of `nnodes` nodes that meet at
    `rdzv_endpoint` (HOST:PORT, c10d rendezvous: the node at HOST serves it); `max_restarts`
    elastic restarts of the whole group follow a failed process.  Only each node's local rank 0
    reaches its console.
    """
    for flag, value, least in (("--nproc", nproc, 1), ("--nnodes", nnodes, 1),
                               ("--node-rank", node_rank, 0), ("--max-restarts", max_restarts, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise MError(f"{flag} must be {'a positive' if least else 'a non-negative'} integer, "
                         f"got {value!r}", field=flag)
    if node_rank >= nnodes:
        raise MError(f"--node-rank={node_rank} but there are only {nnodes} node(s)",
                     field="--node-rank", hint=f"number the nodes 0 to {nnodes - 1}")
    tail = [f"--nproc-per-node={nproc}", "--local-ranks-filter=0", "--tee=3",
            "-m", "mlang", "run", *program_args]
    head = [sys.executable, "-m", "torch.distributed.run"]
    if nnodes == 1 and rdzv_endpoint is None:
        restarts = [f"--max-restarts={max_restarts}"] if max_restarts else []
        return head + ["--standalone", *restarts] + tail
    if rdzv_endpoint is None:
        raise MError(f"--nnodes={nnodes} needs --rdzv-endpoint HOST:PORT, where the nodes meet",
                     field="--rdzv-endpoint",
                     hint="give every node the same address, e.g. --rdzv-endpoint node0:29400")
    _check_endpoint(rdzv_endpoint)
    # c10d numbers the nodes as they join (torchrun ignores --node-rank with it): rank 0, the one
    # that writes checkpoints, is on whichever node joined first.
    return head + [f"--nnodes={nnodes}", "--rdzv-backend=c10d",
                   f"--rdzv-endpoint={rdzv_endpoint}", "--rdzv-id=mlang",
                   f"--max-restarts={max_restarts}"] + tail


def _check_endpoint(endpoint: str) -> None:
    host, _, port = str(endpoint).rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise MError(f"--rdzv-endpoint must be HOST:PORT, got {endpoint!r}", field="--rdzv-endpoint",
                     hint="e.g. --rdzv-endpoint 10.0.0.1:29400 (the same on every node)")


def run_program(nproc: int, program_args: list[str], **multi_node) -> int:
    """Run `m run <program_args>` under torchrun with `nproc` processes (on each of `nnodes`
    nodes); returns the exit code."""
    import subprocess

    command = relaunch_command(nproc, program_args, **multi_node)  # validates the options first
    return subprocess.call(command, env=launch_environment(nproc))


def launch_environment(nproc: int) -> dict[str, str]:
    """The environment torchrun runs under: this one, with the cores shared among the `nproc`
    processes and a fresh store for every worker group.

    By default torchrun's agents hand their workers one store that outlives restarts, and nothing
    in it is keyed by the attempt: after an elastic restart a new worker can read the address a
    worker of the failed group published there and connect to a process that is gone (gloo:
    "connection refused", seen in most restarts on loopback).  With the agent's store not shared,
    the rank-0 node picks a free port at every rendezvous round and the new group's rank-0 worker
    starts an empty store on it.
    """
    return dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // nproc)),
                TORCH_DISABLE_SHARE_RDZV_TCP_STORE="1")
