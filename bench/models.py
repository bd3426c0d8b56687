"""Benchmark: what M's model layer costs over plain PyTorch, measured against it in the same run.

Interleaved (each repeat times M and PyTorch on the same inputs, alternating which goes first), median of `--repeats`, one
intra-op thread so the two-core machine's load hits both alike:

1. forward of a layer stack (MLP 256 → 512 → 512 → 10, batch 64): `LayerStackModel` (declared
   through the catalogue; input normalisation in `MModel.forward`) vs the same `nn.Sequential`;
2. forward of a model declared in M with a `forward(x) { ... }` block over two submodels (each an
   M model) vs a Python `nn.Module` calling the same torch layers directly (same weights) — so
   the ratio includes the cost of the model wrappers (about 10 µs per submodel call here);
3. a training step of the paper's Keras-style `Model.fit` (Conv2D 32 + ReLU + MaxPool on
   16 × 64 × 64 × 3, binary cross-entropy, Adam) vs a hand-written PyTorch loop.

    python bench/models.py              # ~1 min on 2 cores
    python bench/models.py --repeats 9

Prints a table and writes bench/results/models.json.  A ratio is M time / PyTorch time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "models.json"

M_SOURCE = """\
model Branch {
    input: Tensor[float32, B, 256]
    Dense(512, activation="relu")
}
model Mixer {
    input: Tensor[float32, B, 256]
    left: Model = Branch()
    right: Model = Branch()
    forward(x) {
        return self.layers(left(x) * right(x))
    }
    Dense(10)
}
mixer = Mixer()
"""


class PythonMixer(nn.Module):
    def __init__(self, left: nn.Module, right: nn.Module, head: nn.Module):
        super().__init__()
        self.left, self.right, self.head = left, right, head

    def forward(self, x):
        return self.head(self.left(x) * self.right(x))


def timed(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compare(name: str, m_fn, torch_fn, calls: int, repeats: int) -> dict:
    m_fn(), torch_fn()  # warm up
    m_times, torch_times = [], []
    for i in range(repeats):  # alternate which goes first, so neither gets the warmer caches
        if i % 2:
            torch_times.append(timed(torch_fn, calls))
            m_times.append(timed(m_fn, calls))
        else:
            m_times.append(timed(m_fn, calls))
            torch_times.append(timed(torch_fn, calls))
    m_s, torch_s = statistics.median(m_times), statistics.median(torch_times)
    return {"case": name, "m_ms": m_s * 1e3, "torch_ms": torch_s * 1e3, "ratio": m_s / torch_s}


def stack_forward(repeats: int) -> dict:
    from mlang.lang import types as T
    from mlang.models.layers import create_layer
    from mlang.models.stack import LayerStackModel

    layers = [create_layer("Dense", (512,), {"activation": "relu"}), create_layer("Dense", (512,)),
              create_layer("ReLU"), create_layer("Dense", (10,))]
    model = LayerStackModel(layers, T.TensorType("float32", (T.Sym("B"), 256))).eval()
    plain = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).eval()
    x = torch.rand(64, 256)
    with torch.no_grad():
        return compare("layer stack forward (MLP, batch 64)", lambda: model(x), lambda: plain(x), 200, repeats)


def forward_block(repeats: int) -> dict:
    from mlang.lang.api import run_source

    mixer = run_source(M_SOURCE, "<bench_models>")["mixer"].eval()
    python = PythonMixer(mixer.left.layers, mixer.right.layers, mixer.layers).eval()
    x = torch.rand(64, 256)
    with torch.no_grad():
        assert torch.allclose(mixer(x), python(x))
        return compare("M forward block over submodels (batch 64)", lambda: mixer(x), lambda: python(x), 200, repeats)


def keras_fit_step(repeats: int) -> dict:
    import mlang as m
    from mlang.models.keras import Loss, Model, TrainingOptimizer

    torch.manual_seed(0)
    model = Model()
    model.add(m.Conv2D(32, kernel=(3, 3), stride=(1, 1), padding="same", input_shape=(64, 64, 3)))
    model.add(m.Activation("relu"))
    model.add(m.MaxPooling2D(pool_size=(2, 2), stride=(2, 2), padding="valid"))
    model.compile(optimizer=TrainingOptimizer("adam", learning_rate=0.001), loss=Loss("binary_crossentropy"))
    plain = nn.Sequential(nn.Conv2d(3, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2, 2))
    optimizer = torch.optim.Adam(plain.parameters(), lr=0.001)
    x = torch.rand(16, 64, 64, 3)
    y = (torch.rand(16, 32, 32, 32) > 0.5).float()

    def torch_step():
        pred = plain(x.movedim(-1, 1)).movedim(1, -1).clamp(1e-7, 1 - 1e-7)
        loss = -(y * pred.log() + (1 - y) * (1 - pred).log()).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return compare("Keras-style fit, one step (16 × 64 × 64 × 3)",
                   lambda: model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0), torch_step, 3, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [stack_forward(args.repeats), forward_block(args.repeats), keras_fit_step(args.repeats)]
    print(f"{'case':<48} {'M ms':>9} {'PyTorch ms':>11} {'ratio':>7}")
    for r in rows:
        print(f"{r['case']:<48} {r['m_ms']:>9.3f} {r['torch_ms']:>11.3f} {r['ratio']:>7.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"threads": 1, "repeats": args.repeats, "results": rows}, indent=2))
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
