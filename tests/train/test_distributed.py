"""Data-parallel training over torch.distributed (gloo, 2 CPU processes) with tiny models."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from mlang.data import Dataset, split
from mlang.lang.diagnostics import MError
from mlang.train import distributed, fine_tune_model

# fine_tune_model takes `devices=N` (data_parallel wraps it).
fine_tune = fine_tune_model


@pytest.fixture(scope="module")
def iris():
    train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=True)
    return train.take(104), valid  # 104 examples split evenly over 2 ranks


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))


def recording(folder):
    """fine_tune_model, then each rank writes the weights it ended with."""
    def train_and_record(model, train, *args, **kwargs):
        trained = fine_tune_model(model, train, *args, **kwargs)
        save_file({k: v.contiguous() for k, v in trained.state_dict().items()},
                  str(folder / f"rank{distributed.rank()}.safetensors"))
        return trained
    return train_and_record


def test_two_processes_end_with_identical_weights_equal_to_single_process_training(iris, tmp_path):
    train, valid = iris
    settings = dict(epochs=4, lr=0.05, batch_size=len(train), progress=False, seed=0)
    parallel = distributed.fine_tune_distributed(recording(tmp_path), mlp(), train, valid,
                                                 devices=2, **settings)
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    for name in ranks[0]:
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    # The parent's model holds rank 0's weights and history.
    for name, value in parallel.state_dict().items():
        assert torch.equal(value, ranks[0][name]), name
    assert len(parallel.history) == 4 and parallel.history.metric == "f1"

    # Each step averages the two half-batch gradients: the full-batch gradient of one process.
    single = fine_tune_model(mlp(), train, valid, **settings)
    for name, value in single.state_dict().items():
        torch.testing.assert_close(parallel.state_dict()[name], value, rtol=1e-5, atol=1e-6)


class EvalCounting(torch.nn.Sequential):
    """An MLP that appends, to `folder/eval<rank>`, the size of each batch it scores in eval mode."""

    def __init__(self, folder, seed=0):
        super().__init__(*mlp(seed))
        self.folder = folder

    def forward(self, x):
        if not self.training:
            with open(self.folder / f"eval{distributed.rank()}", "a") as out:
                out.write(f"{len(x)}\n")
        return super().forward(x)


def test_validation_is_sharded_across_ranks_and_gives_the_single_process_figures(iris, tmp_path):
    train, valid = iris
    settings = dict(epochs=3, lr=0.05, batch_size=len(train), progress=False, seed=0)
    parallel = fine_tune(EvalCounting(tmp_path), train, valid, devices=2, **settings)
    scored = [sum(map(int, (tmp_path / f"eval{r}").read_text().split())) for r in (0, 1)]
    # Each rank scored its slice of the 45 validation examples every epoch, not all of them.
    assert len(valid) == 45 and scored == [3 * 22, 3 * 23]

    (tmp_path / "single").mkdir()
    single = fine_tune_model(EvalCounting(tmp_path / "single"), train, valid, **settings)
    assert sum(map(int, (tmp_path / "single" / "eval0").read_text().split())) == 3 * 45
    for key in ("valid_loss", "valid_f1"):
        torch.testing.assert_close(parallel.history[key], single.history[key], rtol=1e-5, atol=1e-6)
    assert parallel.history.best_epoch == single.history.best_epoch


def test_devices_argument_trains_with_shuffled_minibatches_and_learns(iris):
    train, valid = iris
    model = fine_tune(mlp(), train, valid, epochs=6, lr=0.05, batch_size=8, progress=False,
                      devices=2)
    # 104 examples in global batches of 8 (4 per rank): 13 optimizer steps an epoch.
    assert model.history.epochs[-1]["step"] == 6 * 13
    assert model.history.best_metric > 0.8


def test_each_epoch_splits_a_fresh_permutation_between_the_ranks():
    data = Dataset([{"x": float(i), "y": float(i)} for i in range(10)])
    shards = [distributed._shard_class()(data, rank, 2, shuffle=True, seed=3) for rank in (0, 1)]
    epochs = []
    for _ in range(2):
        drawn = [[b.x.tolist() for b in shard.batches(5)] for shard in shards]
        values = [v for rank in drawn for batch in rank for v in batch]
        assert sorted(values) == [float(i) for i in range(10)]  # a partition of the data
        epochs.append(drawn)
    assert epochs[0] != epochs[1]


def test_bad_device_counts_and_uneven_batches_are_errors(iris):
    train, valid = iris
    with pytest.raises(MError, match="devices must be a positive int"):
        fine_tune(mlp(), train, devices=0)
    with pytest.raises(MError, match="batch_size=7 does not split evenly over 2 processes") as caught:
        fine_tune(mlp(), train, epochs=1, batch_size=7, progress=False, devices=2)
    assert caught.value.field == "batch_size"


def test_the_torchrun_command_runs_m_with_only_rank_0_on_the_console():
    command = distributed.relaunch_command(2, ["train.m", "--", "fast"])
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command and "--local-ranks-filter=0" in command
    assert command[-5:] == ["mlang", "run", "train.m", "--", "fast"]
    with pytest.raises(MError, match="--nproc must be a positive integer"):
        distributed.relaunch_command(0, ["train.m"])


@pytest.mark.slow
def test_under_torchrun_each_rank_joins_the_group_and_only_rank_0_prints(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import torch
        from mlang.data import Dataset, split
        from mlang.train import fine_tune_model, distributed
        train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=True)
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        model = fine_tune_model(model, train.take(104), valid, epochs=2,
                                batch_size=8, lr=0.05, progress=False)
        total = sum(p.sum().item() for p in model.parameters())
        print(f"rank {{distributed.rank()}} of {{distributed.world_size()}}: {{total:.6f}}")
        with open(r"{tmp_path}/rank" + str(distributed.rank()), "w") as out:
            out.write(f"{{total:.6f}}")
    """))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node=2", "--local-ranks-filter=0", "--tee=3", str(script)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rank 0 of 2" in done.stdout and "rank 1 of 2" not in done.stdout
    assert (tmp_path / "rank0").read_text() == (tmp_path / "rank1").read_text()


def test_an_m_program_fine_tunes_on_two_devices(tmp_path):
    program = tmp_path / "dp.m"
    program.write_text(textwrap.dedent("""
        train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=true)
        model Net {
            input: Tensor[float32, B, 4]
            Dense(16)
            Tanh()
            Dense(3)
        }
        net = fineTuneModel(Net(), train.take(104), valid, epochs=2, batch_size=8, lr=0.05,
                            progress=false, devices=2)
        print(evaluate(net, valid, metrics=["accuracy"])["accuracy"] > 0.5)
    """))
    done = subprocess.run([sys.executable, "-m", "mlang", "run", str(program)],
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout.strip()) == (0, "True"), done.stderr


# Train (devices=args[1]), predict, save, load back and predict as a server would; every field
# the trained model carries goes to the JSON file args[0].
HANDED_BACK = """
import python builtins
import python json
import python pathlib
train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=true)
model Net {
    input: Tensor[float32, B, 4]
    Dense(16)
    Tanh()
    Dense(3)
}
setSeed(0)
net = fineTuneModel(Net(), train.take(104), valid, epochs=2, batch_size=104, lr=0.05,
                    progress=false, seed=0, freeze="layers.0.bias", devices=int(args[1]))
ref = save(net, "iris")
served = load(ref)
fields = [name for name in builtins.vars(net) if not name.startswith("_")]
frozen = [name for name, p in net.named_parameters() if not p.requires_grad]
pathlib.Path(args[0]).write_text(json.dumps({
    "fields": builtins.sorted(fields), "task": net.task, "labels": net.labels,
    "input_transforms": net.input_transforms, "training": net.training, "frozen": frozen,
    "history": net.history.to_dict(), "predicted": predict(net, valid.inputs()),
    "loaded": [served.task, served.labels, predict(served, valid.inputs())]
}))
"""


@pytest.mark.slow
def test_the_model_devices_2_hands_back_carries_what_devices_1_gives_it(tmp_path):
    """Only the worker processes train; the model handed back must still predict and be saved
    and served as the one-process model is (task, labels, history, eval mode, frozen weights)."""
    program = tmp_path / "handed_back.m"
    program.write_text(HANDED_BACK)
    runs = {}
    for devices in ("1", "2"):
        done = subprocess.run([sys.executable, "-m", "mlang", "run", str(program), "--",
                               str(tmp_path / devices), devices], capture_output=True, text=True,
                              timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert done.returncode == 0, done.stderr[-3000:]
        runs[devices] = json.loads((tmp_path / devices).read_text())
    one, two = runs["1"], runs["2"]
    assert "task" in one["fields"] and "labels" in one["fields"] and "history" in one["fields"]
    assert one["labels"] == ["setosa", "versicolor", "virginica"]
    assert one["frozen"] == ["layers.0.bias"] and one["training"] is False
    for field in ("fields", "task", "labels", "input_transforms", "training", "frozen",
                  "predicted", "loaded"):
        assert two[field] == one[field], field
    assert two["loaded"] == [one["task"], one["labels"], one["predicted"]]
    # Rank 0 logs its own shard's training loss; the validation figures are the whole set's.
    history_one, history_two = one["history"], two["history"]
    assert (history_two["metric"], history_two["best_epoch"]) == (history_one["metric"],
                                                                  history_one["best_epoch"])
    for key in ("valid_loss", "valid_f1", "step", "lr"):
        torch.testing.assert_close([e[key] for e in history_two["epochs"]],
                                   [e[key] for e in history_one["epochs"]], rtol=1e-5, atol=1e-6)


SHARDED_VALIDATION = """
import python json
import python pathlib
train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=true)
model Net {
    input: Tensor[float32, B, 4]
    Dense(16)
    Tanh()
    Dense(3)
}
setSeed(0)
net = fineTuneModel(Net(), train.take(104), valid, epochs=2, batch_size=104, lr=0.05,
                    progress=false, seed=0)
figures = json.dumps([net.history["valid_loss"], net.history["valid_f1"]])
pathlib.Path(args[0] + "/history" + str(rank())).write_text(figures)
"""


@pytest.mark.slow
def test_m_run_nproc_2_validates_on_both_ranks_to_the_single_process_figures(tmp_path):
    program = tmp_path / "valid.m"
    program.write_text(SHARDED_VALIDATION)
    figures = {}
    for runs, nproc in (("one", []), ("two", ["--nproc", "2"])):
        (tmp_path / runs).mkdir()
        done = subprocess.run([sys.executable, "-m", "mlang", "run", *nproc, str(program), "--",
                               str(tmp_path / runs)], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
        assert done.returncode == 0, done.stderr[-3000:]
        figures[runs] = [json.loads(f.read_text()) for f in sorted((tmp_path / runs).glob("history*"))]
    (single,), (rank0, rank1) = figures["one"], figures["two"]
    assert rank0 == rank1  # the gathered outputs give every rank the same figures
    for mine, theirs in zip(rank0, single):
        torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)


def test_the_multi_node_command_uses_c10d_rendezvous_and_checks_its_options():
    command = distributed.relaunch_command(1, ["train.m"], nnodes=2, node_rank=1,
                                           rdzv_endpoint="127.0.0.1:29400", max_restarts=2)
    for flag in ("--nnodes=2", "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:29400",
                 "--max-restarts=2", "--nproc-per-node=1"):
        assert flag in command
    assert "--standalone" not in command and command[-3:] == ["mlang", "run", "train.m"]
    assert "--max-restarts=1" in distributed.relaunch_command(2, ["t.m"], max_restarts=1)
    for options, field in ((dict(nnodes=2), "--rdzv-endpoint"),
                           (dict(nnodes=2, rdzv_endpoint="localhost"), "--rdzv-endpoint"),
                           (dict(nnodes=2, node_rank=2, rdzv_endpoint="h:1"), "--node-rank"),
                           (dict(nnodes=0), "--nnodes"), (dict(max_restarts=-1), "--max-restarts")):
        with pytest.raises(MError) as caught:
            distributed.relaunch_command(1, ["t.m"], **options)
        assert caught.value.field == field, options


def test_m_run_reports_a_missing_rendezvous_endpoint(tmp_path):
    program = tmp_path / "p.m"
    program.write_text("print(1)\n")
    done = subprocess.run([sys.executable, "-m", "mlang", "run", "--nnodes", "2", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "--rdzv-endpoint" in done.stderr and "hint" in done.stderr


def test_rank_builtins_in_one_process_from_m_and_python(tmp_path):
    import mlang as m

    assert (m.rank(), m.world_size(), m.is_main_process()) == (0, 1, True)
    program = tmp_path / "r.m"
    program.write_text('if isMainProcess() { print(rank(), worldSize()) }\n')
    done = subprocess.run([sys.executable, "-m", "mlang", "run", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "0 1"), done.stderr


# Slow: two torchrun agents and their workers, about a minute on 2 busy cores.  (Once, before
# `m run` gave each rendezvous round a fresh store, one node waited out the timeout after the other
# exited; not seen in 5 runs since.)
@pytest.mark.slow
def test_two_nodes_of_one_process_meet_through_c10d_on_loopback_and_train(tmp_path):
    program = tmp_path / "nodes.m"
    program.write_text(textwrap.dedent(f"""
        import python pathlib
        train, valid = split(Dataset.sklearn("iris"), 0.7, seed=1, stratify=true)
        model Net {{
            input: Tensor[float32, B, 4]
            Dense(16)
            Tanh()
            Dense(3)
        }}
        setSeed(0)
        net = fineTuneModel(Net(), train.take(104), valid, epochs=2, batch_size=8, lr=0.05,
                            progress=false, checkpoint_dir="{tmp_path}/ck", resume=true)
        total = 0.0
        for p in net.parameters() {{ total = total + p.sum().item() }}
        pathlib.Path("{tmp_path}/rank" + str(rank())).write_text(str(worldSize()) + " " + str(total))
        if isMainProcess() {{ print("main of", worldSize()) }}
    """))
    port = str(distributed._free_port())
    command = [sys.executable, "-m", "mlang", "run", "--nnodes", "2", "--node-rank", "{}",
               "--rdzv-endpoint", f"127.0.0.1:{port}", str(program)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    nodes = [subprocess.Popen([a.format(r) for a in command], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for r in (0, 1)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(err[-3000:] for _, err in outputs)
    assert sum("main of 2" in out for out, _ in outputs) == 1  # rank 0 is on one node only
    rank0, rank1 = (tmp_path / "rank0").read_text(), (tmp_path / "rank1").read_text()
    assert rank0 == rank1 and rank0.startswith("2 ")  # two processes, identical weights
    assert (tmp_path / "ck" / "resume.safetensors").exists()


def test_data_parallel_leaves_a_function_that_already_takes_devices_as_it_is():
    from mlang.train.distributed import data_parallel

    assert data_parallel(fine_tune_model) is fine_tune_model
