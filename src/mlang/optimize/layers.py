"""Layers the passes put in place of float ones: quantized layers and fused activations.

Every layer here keeps its state as plain tensors (int8 weights, float scales, float biases), so a
quantized model saves as safetensors and loads back without pickle.  The fast kernels need packed
weights; they are packed on first use and re-packed whenever new tensors are loaded.

Kernels: the int8 matrix products use PyTorch's FBGEMM / oneDNN CPU kernels
(`quantized::linear_dynamic`, `quantized::linear`, `quantized::conv2d`) with 7-bit activations
(`reduce_range`), which keep the u8×s8 products of CPUs without VNNI from saturating.  Where those
kernels are missing (a GPU, another CPU) the layers fall back to dequantized float math, which
gives the same results more slowly.  Inside `dequantized_math()` they always compute that way:
the ONNX exporter traces and checks int8 models so, as the int8 kernels are not ONNX operators.
"""
from __future__ import annotations

import contextlib
import contextvars
import warnings

import torch
import torch.nn.functional as F
from torch import nn


def quantize_rows(weight: torch.Tensor, per_channel: bool = True
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization with one scale per row (output channel), or one shared scale
    (`per_channel=False`, stored once per row all the same): (int8 values, float32 scales)."""
    limit = 127
    flat = weight.detach().float().reshape(weight.shape[0], -1)
    scale = (flat.abs().amax(dim=1) / limit).clamp_min(1e-12)
    if not per_channel:
        scale = scale.max().expand_as(scale).clone()
    values = torch.round(flat / scale[:, None]).clamp(-limit, limit).to(torch.int8)
    return values.reshape(weight.shape), scale


def _per_channel_qtensor(values: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The quantized-tensor form the FBGEMM packing functions take (only at packing time)."""
    zero = torch.zeros(values.shape[0], dtype=torch.long)
    with warnings.catch_warnings():  # the packing API takes quantized tensors, deprecated or not
        warnings.simplefilter("ignore", UserWarning)
        return torch._make_per_channel_quantized_tensor(values.cpu(), scale.double().cpu(),
                                                        zero, 0)


_FLOAT_MATH = contextvars.ContextVar("int8_layers_compute_in_float", default=False)


@contextlib.contextmanager
def dequantized_math():
    """Within this block the int8 layers compute with their dequantized weights in float: the
    same int8 weights, float activations, and only standard operators."""
    token = _FLOAT_MATH.set(True)
    try:
        yield
    finally:
        _FLOAT_MATH.reset(token)


def _quantized_kernels_available(tensor: torch.Tensor) -> bool:
    return (not _FLOAT_MATH.get() and tensor.device.type == "cpu"
            and "fbgemm" in torch.backends.quantized.supported_engines)


class _Packed(nn.Module):
    """Base: drop the packed kernel weights whenever the tensors are (re)loaded."""

    def __init__(self) -> None:
        super().__init__()
        self._packed = None

    def _load_from_state_dict(self, *args, **kwargs):
        self._packed = None
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn, *args, **kwargs):  # .to(device) etc. invalidate the packing
        self._packed = None
        return super()._apply(fn, *args, **kwargs)


class Int8Linear(_Packed):
    """A Linear with per-output-channel int8 weights.

    `static=False` (dynamic): activations are quantized per batch at run time.
    `static=True`: activations use the input/output scales found on calibration data.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 static: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features, self.static = in_features, out_features, static
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        if static:
            self.register_buffer("activation_qparams", torch.tensor([1.0, 0.0, 1.0, 0.0]))

    @classmethod
    def from_float(cls, linear: nn.Linear, static: bool = False,
                   per_channel: bool = True) -> "Int8Linear":
        new = cls(linear.in_features, linear.out_features, linear.bias is not None, static)
        values, scale = quantize_rows(linear.weight, per_channel)
        new.weight_int8.copy_(values)
        new.weight_scale.copy_(scale)
        if linear.bias is not None:
            new.bias.copy_(linear.bias.detach().float())
        return new.to(linear.weight.device)

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight_int8.float() * self.weight_scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _quantized_kernels_available(x):
            return F.linear(x, self.dequantized_weight().to(x.dtype),
                            None if self.bias is None else self.bias.to(x.dtype))
        if self._packed is None:
            self._packed = torch.ops.quantized.linear_prepack(
                _per_channel_qtensor(self.weight_int8, self.weight_scale), self.bias)
        if not self.static:
            return torch.ops.quantized.linear_dynamic(x.float(), self._packed, True)
        in_scale, in_zero, out_scale, out_zero = self.activation_qparams.tolist()
        qx = torch.quantize_per_tensor(x.float(), in_scale, int(in_zero), torch.quint8)
        return torch.ops.quantized.linear(qx, self._packed, out_scale, int(out_zero)).dequantize()

    def extra_repr(self) -> str:
        mode = "static" if self.static else "dynamic"
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 {mode}"


class Int8Conv2d(_Packed):
    """A Conv2d with per-channel int8 weights.

    `static=True`: int8 activations with the scales found on calibration data (int8 kernels).
    `static=False`: weight-only — the weights are stored in int8 and computed with in float.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, static: bool = True) -> None:
        super().__init__()
        pair = nn.modules.utils._pair
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size), pair(stride)
        self.padding, self.dilation, self.groups = pair(padding), pair(dilation), groups
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.register_buffer("weight_int8", torch.zeros(shape, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_channels))
        self.register_buffer("bias", torch.zeros(out_channels) if bias else None)
        self.static = static
        if static:
            self.register_buffer("activation_qparams", torch.tensor([1.0, 0.0, 1.0, 0.0]))

    @classmethod
    def from_float(cls, conv: nn.Conv2d, per_channel: bool = True,
                   static: bool = True) -> "Int8Conv2d":
        if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
            padding = _explicit_padding(conv)
        else:
            padding = conv.padding
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, padding,
                  conv.dilation, conv.groups, conv.bias is not None, static)
        values, scale = quantize_rows(conv.weight, per_channel)
        new.weight_int8.copy_(values)
        new.weight_scale.copy_(scale)
        if conv.bias is not None:
            new.bias.copy_(conv.bias.detach().float())
        return new

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight_int8.float() * self.weight_scale[:, None, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.static or not _quantized_kernels_available(x):
            return F.conv2d(x, self.dequantized_weight().to(x.dtype), self.bias, self.stride,
                            self.padding, self.dilation, self.groups)
        if self._packed is None:
            self._packed = torch.ops.quantized.conv2d_prepack(
                _per_channel_qtensor(self.weight_int8, self.weight_scale), self.bias,
                list(self.stride), list(self.padding), list(self.dilation), self.groups)
        in_scale, in_zero, out_scale, out_zero = self.activation_qparams.tolist()
        qx = torch.quantize_per_tensor(x.float().contiguous(), in_scale, int(in_zero), torch.quint8)
        return torch.ops.quantized.conv2d(qx, self._packed, out_scale, int(out_zero)).dequantize()

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"int8 {'static' if self.static else 'weight-only'}")


def _explicit_padding(conv: nn.Conv2d):
    if conv.padding_mode != "zeros":
        raise ValueError(f"padding_mode={conv.padding_mode!r} has no int8 kernel")
    if conv.padding == "valid":
        return (0, 0)
    pads = [d * (k - 1) for k, d in zip(conv.kernel_size, conv.dilation)]
    if any(p % 2 for p in pads):
        raise ValueError("padding='same' with an even kernel has no symmetric int8 equivalent")
    return tuple(p // 2 for p in pads)


class Int8Embedding(nn.Module):
    """An Embedding table stored as int8 rows with one float scale per row (weight-only)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = (
            num_embeddings, embedding_dim, padding_idx)
        self.register_buffer("weight_int8",
                             torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(num_embeddings))

    @classmethod
    def from_float(cls, embedding: nn.Embedding, per_channel: bool = True) -> "Int8Embedding":
        new = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        values, scale = quantize_rows(embedding.weight, per_channel)
        new.weight_int8.copy_(values)
        new.weight_scale.copy_(scale)
        return new.to(embedding.weight.device)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized table, for code that reads `embedding.weight` (e.g. tied heads)."""
        return self.weight_int8.float() * self.weight_scale[:, None]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.weight_int8[ids].float() * self.weight_scale[ids].unsqueeze(-1)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8 per-row"


class Int8RNN(nn.Module):
    """An LSTM or GRU whose weight matrices are stored as per-row int8.

    It runs as PyTorch's dynamically quantized LSTM/GRU (int8 matrix products) built, on first
    use, from the stored int8 weights.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, bidirectional: bool = False):
        super().__init__()
        self.kind = kind
        self.options = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                            bias=bias, batch_first=batch_first, bidirectional=bidirectional)
        template = getattr(nn, kind)(**self.options)
        self.weight_names = [n for n, _ in template.named_parameters() if n.startswith("weight")]
        for name, param in template.named_parameters():
            if name.startswith("weight"):
                self.register_buffer(f"{name}_int8", torch.zeros(param.shape, dtype=torch.int8))
                self.register_buffer(f"{name}_scale", torch.ones(param.shape[0]))
            else:
                self.register_buffer(name, torch.zeros(param.shape))
        self._runtime = None

    @classmethod
    def from_float(cls, rnn: nn.Module, per_channel: bool = True) -> "Int8RNN":
        new = cls(type(rnn).__name__, rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.bias,
                  rnn.batch_first, rnn.bidirectional)
        for name, param in rnn.named_parameters():
            if name.startswith("weight"):
                values, scale = quantize_rows(param, per_channel)
                getattr(new, f"{name}_int8").copy_(values)
                getattr(new, f"{name}_scale").copy_(scale)
            else:
                getattr(new, name).copy_(param.detach())
        return new

    def _load_from_state_dict(self, *args, **kwargs):
        self._runtime = None
        super()._load_from_state_dict(*args, **kwargs)

    def float_module(self) -> nn.Module:
        """The float LSTM/GRU with the dequantized weights."""
        rnn = getattr(nn, self.kind)(**self.options)
        with torch.no_grad():
            for name, param in rnn.named_parameters():
                if name.startswith("weight"):
                    param.copy_(getattr(self, f"{name}_int8").float()
                                * getattr(self, f"{name}_scale")[:, None])
                else:
                    param.copy_(getattr(self, name))
        return rnn.eval()

    def forward(self, x, hx=None):
        if _FLOAT_MATH.get():
            return self.float_module().to(x.device)(x, hx)
        if self._runtime is None:
            float_rnn = self.float_module()
            if _quantized_kernels_available(x):
                from torch.ao.nn.quantized import dynamic as quantized_dynamic

                float_rnn.qconfig = _dynamic_qconfig()
                runtime = getattr(quantized_dynamic, self.kind).from_float(float_rnn)
            else:
                runtime = float_rnn.to(x.device)
            object.__setattr__(self, "_runtime", runtime)  # not a registered submodule
        return self._runtime(x, hx)

    def extra_repr(self) -> str:
        return f"{self.kind}, " + ", ".join(f"{k}={v}" for k, v in self.options.items()) + ", int8"


def _dynamic_qconfig():
    from torch.ao.quantization import default_dynamic_qconfig

    return default_dynamic_qconfig


class Upcast(nn.Module):
    """A parametrization: the weight is stored in fp16/bf16 and computed with in float32.

    CPUs without fp16/bf16 arithmetic (like this project's reference machine) run float32 math
    far faster than half precision, so `bits=16` halves the stored size and keeps fp32 speed.
    """

    def forward(self, stored: torch.Tensor) -> torch.Tensor:
        return stored.float()


class FusedActivation(nn.Module):
    """A Conv/Linear (or its int8 replacement) followed by its activation, as one module.

    ReLU runs in place on the layer's fresh output, saving one tensor allocation per call.
    """

    def __init__(self, layer: nn.Module, activation: nn.Module) -> None:
        super().__init__()
        self.layer, self.activation = layer, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.layer(x)
        if type(self.activation) is nn.ReLU:
            return torch.relu_(y)
        return self.activation(y)
