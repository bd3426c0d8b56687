"""Quantization: store (and where it pays, compute) weights with fewer bits.

`bits=8` (`method="linear"`, the default: symmetric linear int8 with one scale per output channel,
or one per tensor with `per_channel=False`):

* Linear layers → `Int8Linear` with dynamic int8 activations (FBGEMM/oneDNN kernels);
* LSTM / GRU → `Int8RNN` (int8 weights, PyTorch's dynamic int8 recurrent kernels);
* Conv2d → `Int8Conv2d`, static: activation ranges come from `calibration` data; without
  calibration data (or with `method="dynamic"`) convolutions are quantized weight-only (int8
  storage, float compute) and `describe()` says so;
* Embedding tables → `Int8Embedding` (int8 rows, one scale per row; weight-only) when
  `embeddings=True` (the default) — for text models the table is most of the weight size.

`method="dynamic"` quantizes only Linear/LSTM/GRU/Embedding; `method="static"` also runs Linear
layers with calibrated activation scales (needs `calibration`).

`bits=16` stores every float weight as `dtype="float16"` (default) or `"bfloat16"` and computes in
float32: half the size, no speed-up and no slow-down on CPUs without half-precision arithmetic
(bfloat16 *arithmetic* is ~4.5× slower than float32 on the reference CPU).

`scope="global"` quantizes every supported layer; `scope="local"` only the layers whose paths
match `layers` (glob patterns such as `"encoder.*"`).  `skip` lists patterns kept in float.

Why not torchao: its int8 dynamic-activation configs run through `torch._int_mm`, which on this
project's reference CPU (AVX2, no VNNI) measured 2.9 GOP/s against float32's ~50-130 GFLOP/s;
the FBGEMM kernels used here run 1.6-4× faster than float32 on the same shapes.
"""
from __future__ import annotations

from fnmatch import fnmatchcase

from mlang.lang.diagnostics import MError
from mlang.optimize.passes import (OptimizationContext, Pass, choose, get_submodule,
                                   record_transform, set_submodule, torch_module)

METHODS = ("linear", "dynamic", "static")
SCOPES = ("global", "local")
HALF_TYPES = ("float16", "bfloat16")


class Quantization(Pass):
    """`Quantization(bits=8, scope="global", method="linear")`."""

    name = "quantize"

    def __init__(self, bits: int = 8, scope: str = "global", method: str = "linear",
                 per_channel: bool = True, embeddings: bool = True, dtype: str = "float16",
                 layers: list[str] | None = None, skip: list[str] | None = None,
                 calibration_batches: int = 8):
        super().__init__()
        if bits not in (8, 16):
            raise MError(f"bits={bits!r} is not supported", field="bits",
                         hint="use bits=8 (int8) or bits=16 (float16/bfloat16 weights)")
        self.bits = bits
        self.scope = choose(scope, SCOPES, "scope")
        self.method = choose(method, METHODS, "method")
        self.dtype = choose(dtype, HALF_TYPES, "dtype")
        if scope == "local" and not layers:
            raise MError("scope='local' needs the layers to quantize", field="layers",
                         hint="e.g. layers=['encoder.*'] (glob patterns over layer paths)")
        self.per_channel, self.embeddings = bool(per_channel), bool(embeddings)
        self.layers, self.skip = list(layers or []), list(skip or [])
        self.calibration_batches = int(calibration_batches)

    def config(self) -> dict:
        settings = {"bits": self.bits, "scope": self.scope, "method": self.method}
        if self.bits == 16:
            settings["dtype"] = self.dtype
        else:
            settings.update(per_channel=self.per_channel, embeddings=self.embeddings)
        if self.layers:
            settings["layers"] = self.layers
        if self.skip:
            settings["skip"] = self.skip
        return settings

    def selected(self, path: str) -> bool:
        if any(fnmatchcase(path, p) for p in self.skip):
            return False
        if self.scope == "local":
            return any(fnmatchcase(path, p) or path.startswith(p.rstrip("*.") + ".")
                       for p in self.layers)
        return True

    def apply(self, model, context: OptimizationContext | None = None):
        import torch

        context = context or OptimizationContext()
        module = torch_module(model)
        with torch.no_grad():
            if self.bits == 16:
                self.changes = [self._to_half(module, model)]
            else:
                self.changes = self._to_int8(module, model, context)
        return model

    # ------------------------------------------------------------ bits=16

    def _to_half(self, module, model) -> str:
        import torch
        from torch.nn.utils import parametrize

        dtype = getattr(torch, self.dtype)
        converted = []
        for path, sub in list(module.named_modules()):
            weight = getattr(sub, "weight", None)
            if not isinstance(weight, torch.nn.Parameter) or not weight.is_floating_point() \
                    or weight.dtype != torch.float32 or not self.selected(path) \
                    or parametrize.is_parametrized(sub, "weight"):
                continue
            half_weights(sub, dtype)
            converted.append(path)
        if not converted:
            raise MError("no float32 weights to convert to 16 bits", field="bits")
        record_transform(model, {"transform": "quantize", "modules": {},
                                 "half": {"dtype": self.dtype, "modules": converted}})
        return f"{len(converted)} weight tensors stored as {self.dtype}, computed in float32"

    # ------------------------------------------------------------ bits=8

    def _to_int8(self, module, model, context: OptimizationContext) -> list[str]:
        import torch

        from mlang.optimize.layers import Int8Conv2d, Int8Embedding, Int8Linear, Int8RNN

        linears = self._find(module, torch.nn.Linear)
        convs = [(p, m) for p, m in self._find(module, torch.nn.Conv2d) if _conv_supported(m)]
        rnns = self._find(module, (torch.nn.LSTM, torch.nn.GRU))
        embeddings = self._find(module, torch.nn.Embedding) if self.embeddings else []
        static_linear = self.method == "static"
        needs_calibration = bool(convs) and self.method != "dynamic" or static_linear
        ranges = {}
        notes = []
        static_convs = bool(convs) and self.method != "dynamic"
        if needs_calibration:
            if context.calibration is None:
                if static_linear:
                    raise MError("method='static' needs calibration data", field="calibration",
                                 hint="pass calibration=<a dataset or list of inputs>")
                notes.append(f"{len(convs)} Conv2d layers quantized weight-only: int8 "
                             "activations need calibration data (calibration=…)")
                static_convs = False
            else:
                observed = convs + (linears if static_linear else [])
                ranges = calibrate(model, module, [p for p, _ in observed], context.calibration,
                                   self.calibration_batches)
        record = {"transform": "quantize", "modules": {}}
        for path, linear in linears:
            new = Int8Linear.from_float(linear, static=static_linear, per_channel=self.per_channel)
            if static_linear:
                new.activation_qparams.copy_(_qparams(ranges[path]))
            self._install(module, path, new, {"kind": "int8_linear", "static": static_linear},
                          record)
        for path, conv in convs:
            new = Int8Conv2d.from_float(conv, self.per_channel, static=static_convs)
            if static_convs:
                new.activation_qparams.copy_(_qparams(ranges[path]))
            self._install(module, path, new, {"kind": "int8_conv2d", "static": static_convs},
                          record)
        for path, rnn in rnns:
            self._install(module, path, Int8RNN.from_float(rnn, self.per_channel), {"kind": "int8_rnn"}, record)
        for path, embedding in embeddings:
            self._install(module, path, Int8Embedding.from_float(embedding, self.per_channel),
                          {"kind": "int8_embedding"}, record)
        if not record["modules"]:
            raise MError("this model has no layers that 8-bit quantization supports",
                         field="bits", hint="int8 covers Linear, Conv2d, LSTM, GRU and Embedding")
        record_transform(model, record)
        granularity = "per-channel" if self.per_channel else "per-tensor"
        counts = [f"{len(linears)} Linear ({'static' if static_linear else 'dynamic'})",
                  f"{len(convs)} Conv2d ({'static' if static_convs else 'weight-only'})",
                  f"{len(rnns)} LSTM/GRU",
                  f"{len(embeddings)} Embedding (weight-only)"]
        return [f"int8 {granularity}: " + ", ".join(c for c in counts if not c.startswith("0 "))
                ] + notes

    def _find(self, module, kinds):
        return [(path, sub) for path, sub in module.named_modules()
                if isinstance(sub, kinds) and path and self.selected(path)]

    def _install(self, root, path, new, kind: dict, record: dict) -> None:
        set_submodule(root, path, new)
        record["modules"][path] = kind


def half_weights(module, dtype) -> None:
    """Store `module.weight` in `dtype`, seen by the module's forward as float32."""
    import torch
    from torch.nn.utils import parametrize

    from mlang.optimize.layers import Upcast

    module.weight = torch.nn.Parameter(module.weight.detach().to(dtype),
                                       requires_grad=module.weight.requires_grad)
    parametrize.register_parametrization(module, "weight", Upcast(), unsafe=True)


def _conv_supported(conv) -> bool:
    from mlang.optimize.layers import _explicit_padding

    try:
        _explicit_padding(conv) if isinstance(conv.padding, str) else None
    except ValueError:
        return False
    return conv.padding_mode == "zeros"


def _qparams(observed: tuple[float, float, float, float]):
    """[input scale, input zero point, output scale, output zero point] for 7-bit unsigned."""
    import torch

    values = []
    for low, high in (observed[:2], observed[2:]):
        low, high = min(low, 0.0), max(high, 0.0)
        scale = max((high - low) / 127.0, 1e-8)  # reduce_range: 0..127 avoids u8×s8 overflow
        zero = int(round(-low / scale))
        values += [scale, float(min(max(zero, 0), 127))]
    return torch.tensor(values)


def calibrate(model, module, paths: list[str], data, max_batches: int) -> dict:
    """Run `model` on calibration data and record each layer's input and output range."""
    from mlang.optimize.data import iterate_batches, run_model

    ranges = {p: [float("inf"), float("-inf"), float("inf"), float("-inf")] for p in paths}

    def observer(path):
        def hook(_module, inputs, output):
            r = ranges[path]
            x = inputs[0].detach()
            r[0], r[1] = min(r[0], float(x.min())), max(r[1], float(x.max()))
            y = output.detach()
            r[2], r[3] = min(r[2], float(y.min())), max(r[3], float(y.max()))
        return hook

    handles = [get_submodule(module, p).register_forward_hook(observer(p)) for p in paths]
    was_training = module.training
    module.eval()
    try:
        for count, (inputs, _targets) in enumerate(iterate_batches(model, data, batch_size=16)):
            if count >= max_batches:
                break
            run_model(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    missing = [p for p, r in ranges.items() if r[0] == float("inf")]
    if missing:
        raise MError(f"calibration data never reached {missing[0]}", field="calibration",
                     hint="give calibration inputs the model accepts")
    return {p: tuple(r) for p, r in ranges.items()}
