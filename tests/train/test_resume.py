"""fineTuneModel(..., checkpoint_dir=..., resume=true): an interrupted run resumes exactly."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from safetensors import safe_open
from torch import nn

from mlang.data import Dataset
from mlang.lang.diagnostics import MError
from mlang.train import fine_tune_model, seed_everything

from conftest import BagOfWordsClassifier


class DropoutClassifier(BagOfWordsClassifier):
    """Dropout draws from torch's generator every step, so resuming must restore its state."""

    def __init__(self):
        super().__init__()
        self.dropout = nn.Dropout(0.3)

    def compute(self, input_ids, attention_mask):
        vectors = self.encoder(input_ids) * attention_mask[..., None]
        pooled = vectors.sum(1) / attention_mask.sum(1, keepdim=True).clamp(min=1)
        return self.head(self.dropout(pooled))


class Crash(Exception):
    pass


def crashing_after(data, batches):
    """`data`, except that training dies after `batches` batches (as a killed process would)."""
    seen = [0]

    class Crashing(Dataset):
        def batches(self, *args, **kwargs):
            for batch in super().batches(*args, **kwargs):
                if seen[0] == batches:
                    raise Crash
                seen[0] += 1
                yield batch

    return Crashing(data.examples, input_column=data.input_column, target_column=data.target_column,
                    labels=data.labels, source=data.source, decoders=data.decoders)


SETTINGS = dict(epochs=3, lr=5e-2, batch_size=8, gradient_accumulation=2, seed=5, progress=False)


def fresh(seed=0):
    seed_everything(seed)
    return DropoutClassifier()


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, different


def without_seconds(epochs):
    return [{k: v for k, v in record.items() if k != "seconds"} for record in epochs]


def test_a_run_killed_mid_epoch_resumes_to_the_same_weights_and_history(sentiment, tmp_path):
    train, valid = sentiment
    baseline = fine_tune_model(fresh(), train, valid, **SETTINGS)  # no checkpoints at all

    # 96 examples / 8 = 12 batches per epoch, 6 optimizer steps; a checkpoint every 4 steps.
    with pytest.raises(Crash):
        fine_tune_model(fresh(), crashing_after(train, 12 + 11), valid, checkpoint_dir=str(tmp_path),
                        resume=True, checkpoint_every=4, **SETTINGS)
    with safe_open(str(tmp_path / "resume.safetensors"), framework="pt") as handle:
        meta = json.loads(handle.metadata()["mlang.resume"])
    # The last checkpoint: step 8, four batches into epoch 2 (it died at batch 12 of that epoch).
    assert (meta["epoch"], meta["batches_done"], meta["step"]) == (2, 4, 8)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]

    # A differently initialised model: the checkpoint's weights replace its own.
    resumed = fine_tune_model(fresh(seed=99), train, valid, checkpoint_dir=str(tmp_path),
                              resume=True, checkpoint_every=4, **SETTINGS)
    assert_same_weights(resumed, baseline)
    assert without_seconds(resumed.history.epochs) == without_seconds(baseline.history.epochs)
    assert resumed.history.steps == baseline.history.steps
    assert resumed.history.best_epoch == baseline.history.best_epoch


def test_resuming_a_finished_run_trains_no_more_and_no_checkpoint_starts_fresh(sentiment, tmp_path):
    train, valid = sentiment
    baseline = fine_tune_model(fresh(), train, valid, **SETTINGS)
    first = fine_tune_model(fresh(), train, valid, checkpoint_dir=str(tmp_path), resume=True,
                            **SETTINGS)  # nothing to resume: a fresh start, saving as it goes
    assert_same_weights(first, baseline)
    again = fine_tune_model(fresh(seed=42), train, valid, checkpoint_dir=str(tmp_path),
                            resume=True, **SETTINGS)
    assert_same_weights(again, baseline)
    assert len(again.history) == 3 and again.history.epochs[-1]["step"] == 18


def test_resume_between_epochs_equals_uninterrupted_without_validation(sentiment, tmp_path):
    train, _ = sentiment
    settings = dict(SETTINGS, gradient_accumulation=1)
    baseline = fine_tune_model(fresh(), train, **settings)
    with pytest.raises(Crash):
        fine_tune_model(fresh(), crashing_after(train, 12 * 2), checkpoint_dir=str(tmp_path),
                        resume=True, **settings)
    resumed = fine_tune_model(fresh(), train, checkpoint_dir=str(tmp_path), resume=True, **settings)
    assert_same_weights(resumed, baseline)


def test_a_checkpoint_of_another_model_or_data_is_an_error_naming_checkpoint_dir(sentiment, tmp_path):
    train, valid = sentiment
    fine_tune_model(fresh(), train, valid, checkpoint_dir=str(tmp_path), resume=True,
                    **dict(SETTINGS, epochs=1))
    with pytest.raises(MError) as other_model:
        fine_tune_model(BagOfWordsClassifier(dim=8), train, valid, checkpoint_dir=str(tmp_path),
                        resume=True, **dict(SETTINGS, epochs=1))
    assert other_model.value.field == "checkpoint_dir" and "different model" in str(other_model.value)
    assert str(tmp_path) in str(other_model.value)
    with pytest.raises(MError) as other_data:
        fine_tune_model(fresh(), train.take(80), valid, checkpoint_dir=str(tmp_path),
                        resume=True, **dict(SETTINGS, epochs=1))
    assert other_data.value.field == "checkpoint_dir" and "different data" in str(other_data.value)
    (tmp_path / "resume.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(MError) as broken:
        fine_tune_model(fresh(), train, valid, checkpoint_dir=str(tmp_path), resume=True,
                        **dict(SETTINGS, epochs=1))
    assert broken.value.field == "checkpoint_dir"


def test_resume_arguments_are_checked(sentiment):
    train, _ = sentiment
    with pytest.raises(MError) as no_dir:
        fine_tune_model(fresh(), train, resume=True, progress=False)
    assert no_dir.value.field == "resume" and "checkpoint_dir" in no_dir.value.diagnostics[0].hint
    with pytest.raises(MError) as no_resume:
        fine_tune_model(fresh(), train, checkpoint_dir="x", checkpoint_every=2, progress=False)
    assert no_resume.value.field == "checkpoint_every"


PROGRAM = """
setSeed(3)
iris = Dataset.sklearn("iris")
model Net {{
    input: Tensor[float32, B, 4]
    Dense(32)
    Tanh()
    Dropout(0.2)
    Dense(3)
}}
net = fineTuneModel(Net(), iris, epochs={epochs}, lr=1e-2, batch_size=2, seed=3, progress=false,
                    checkpoint_dir="{folder}", resume=true, checkpoint_every=10)
print("done")
"""


def _checkpoint_position(path):
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads(handle.metadata()["mlang.resume"])
        return meta["epoch"], meta["batches_done"]
    except Exception:
        return None


def test_an_m_program_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path):
    from safetensors.torch import load_file

    epochs = 6
    runs = {}
    for name in ("whole", "killed"):
        folder = tmp_path / name
        program = tmp_path / f"{name}.m"
        program.write_text(PROGRAM.format(epochs=epochs, folder=folder))
        runs[name] = program
    done = subprocess.run([sys.executable, "-m", "mlang", "run", str(runs["whole"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    process = subprocess.Popen([sys.executable, "-m", "mlang", "run", str(runs["killed"])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    checkpoint = tmp_path / "killed" / "resume.safetensors"
    deadline = time.monotonic() + 240
    position = None
    while time.monotonic() < deadline and process.poll() is None:
        position = _checkpoint_position(checkpoint) if checkpoint.exists() else None
        if position is not None and position[0] >= 2 and position[1] > 0:  # mid-epoch, epoch ≥ 2
            break
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert process.stdout.read() == b""  # it did not finish
    killed_at = _checkpoint_position(checkpoint)
    assert killed_at is not None and killed_at < (epochs + 1, 0)

    done = subprocess.run([sys.executable, "-m", "mlang", "run", str(runs["killed"])],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done"
    # Without validation, best.safetensors holds the final weights.
    whole = load_file(str(tmp_path / "whole" / "best.safetensors"))
    resumed = load_file(str(tmp_path / "killed" / "best.safetensors"))
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole), f"killed at {killed_at}"


ELASTIC_PROGRAM = """
import python os
import python pathlib
setSeed(3)
iris = Dataset.sklearn("iris")
model Net {
    input: Tensor[float32, B, 4]
    Dense(32)
    Tanh()
    Dropout(0.2)
    Dense(3)
}
folder = args[0]
pathlib.Path(folder + "/pid" + str(rank())).write_text(str(os.getpid()))
net = fineTuneModel(Net(), iris, epochs=4, lr=1e-2, batch_size=2, seed=3, progress=false,
                    checkpoint_dir=folder + "/ck", resume=true, checkpoint_every=10)
if isMainProcess() { print("done", worldSize()) }
"""


def _two_nodes(program, folder):
    """`m run` on two loopback nodes of one process each, c10d, up to 3 elastic restarts (a killed process fails both nodes, each failure counts)."""
    from mlang.train import distributed

    folder.mkdir()
    port = str(distributed._free_port())
    command = [sys.executable, "-m", "mlang", "run", "--nnodes", "2", "--rdzv-endpoint",
               f"127.0.0.1:{port}", "--max-restarts", "3", str(program), "--", str(folder)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # Output to files: a pipe nobody reads while the other node is waited for can block a node.
    return [subprocess.Popen(command, stdout=open(folder / f"node{i}.log", "w"),
                             stderr=subprocess.STDOUT, env=env) for i in (0, 1)]


def _wait(nodes, folder):
    for node in nodes:
        try:
            node.wait(timeout=240)
        except subprocess.TimeoutExpired:
            for other in nodes:
                other.kill()
            raise
    logs = "\n".join((folder / f"node{i}.log").read_text()[-3000:] for i in (0, 1))
    assert [node.returncode for node in nodes] == [0, 0], logs
    return logs


# Slow: two trainings of two processes each.  It was intermittent (the restarted group read a dead
# worker's address from torchrun's shared agent store) until `m run` turned that store off.
@pytest.mark.slow
def test_an_elastic_restart_after_killing_one_nodes_process_resumes_to_the_same_weights(tmp_path):
    from safetensors.torch import load_file

    program = tmp_path / "elastic.m"
    program.write_text(ELASTIC_PROGRAM)
    whole = tmp_path / "whole"
    _wait(_two_nodes(program, whole), whole)

    killed = tmp_path / "killed"
    nodes = _two_nodes(program, killed)
    checkpoint = killed / "ck" / "resume.safetensors"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        position = _checkpoint_position(checkpoint) if checkpoint.exists() else None
        if position is not None and position[0] >= 2 and position[1] > 0:
            break
        time.sleep(0.02)
    assert position is not None and position < (5, 0), position
    os.kill(int((killed / "pid1").read_text()), signal.SIGKILL)  # rank 1's worker, not its agent
    logs = _wait(nodes, killed)
    assert "Connection reset" in logs or "failed" in logs  # the group did fail and restart
    assert _checkpoint_position(checkpoint) == (5, 0)  # then trained all 4 epochs
    a = load_file(str(whole / "ck" / "best.safetensors"))
    b = load_file(str(killed / "ck" / "best.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), position
