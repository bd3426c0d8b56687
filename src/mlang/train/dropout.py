"""Dropout for training on CPU, drawn from numpy's SFC64 bits instead of torch's `bernoulli_`.

Why: on CPU, torch draws a dropout mask one element at a time from a serial generator (its
vectorized MKL path is taken on Intel CPUs only), about 9 ns an element on an AMD EPYC: 12-15 %
of a MiniLM fine-tune step, most of it the attention probabilities' mask.  numpy's SFC64 bits
give the same mask in a ninth of the time (3.2 against 28.5 ms for 3.1 M elements).  Torch also
keeps the mask for backward as float32; this keeps a bool, a quarter of the memory.

Same semantics: each element is zeroed with probability p (to 1/65536) and the others scaled by
1/(1-p); each mask is seeded from torch's generator, so `setSeed` and a resumed run reproduce it.

`cpu_dropout(model)` applies it while a `fineTuneModel` trains on CPU: `nn.Dropout` modules draw
their masks here, and the attention of the Hugging Face encoders named in `ATTENTION_TYPES`
(`sdpa` in training falls back to the same serial mask) runs as eager attention with this
dropout; everything is as it was afterwards.  Evaluation computes what it computed (the same
`sdpa` kernel), and inference outside training is untouched.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

LEVELS = 65536  # p is rounded to a multiple of 1/LEVELS: the mask compares 16-bit draws
ATTENTION = "mlang_cpu_dropout"
# Encoders whose attention is plain multi-head attention through Hugging Face's attention
# interface (no key/value groups or windows), checked against their own attention in the tests.
ATTENTION_TYPES = ("bert", "roberta", "xlm-roberta", "camembert", "electra")


def dropped(shape: torch.Size, p: float) -> tuple[torch.Tensor, float]:
    """A bool mask of `shape`, True with probability `p` (to 1/LEVELS), and the scale 1/(1-p)
    for what is kept."""
    threshold = round(p * LEVELS)
    if threshold >= LEVELS:  # p = 1 (or within 1/65536 of it): everything is dropped
        return torch.ones(shape, dtype=torch.bool), 0.0
    seed = int(torch.randint(0, 2**63 - 1, ()))  # from torch's generator: setSeed governs it
    count = shape.numel()
    words = (count + 3) // 4  # four 16-bit draws per 64-bit word
    draws = torch.from_numpy(np.random.SFC64(seed).random_raw(words).view(np.int16)[:count])
    return (draws < threshold - LEVELS // 2).view(shape), LEVELS / (LEVELS - threshold)


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, p: float) -> torch.Tensor:
        mask, ctx.scale = dropped(x.shape, p)
        ctx.save_for_backward(mask)
        return x.mul(ctx.scale).masked_fill_(mask, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return grad.mul(ctx.scale).masked_fill_(mask, 0), None


def drop(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """`torch.nn.functional.dropout(x, p, training)` with the mask drawn as above."""
    if not training or p == 0.0:
        return x
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    return _Dropout.apply(x, p)


class CPUDropout(nn.Dropout):
    """An `nn.Dropout` whose masks come from `drop`: what `cpu_dropout` turns them into."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop(x, self.p, self.training)


def attention(module, query, key, value, attention_mask, scaling=None, dropout: float = 0.0, **kwargs):
    """Hugging Face's eager attention (`eager_attention_forward`) with `drop`'s masks; with no
    dropout to apply (evaluation), the fused `sdpa` kernel, as before.  The weights it returns
    (`output_attentions`) are the softmax's, before dropout."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if dropout == 0.0 or not module.training:
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=0.0, **kwargs)
    scaling = query.size(-1) ** -0.5 if scaling is None else scaling
    # The scalings go on the [B, H, T, head] tensors, not the larger [B, H, T, T] scores, and the
    # mask is added in place: three passes over the scores fewer than the eager attention.
    scores = torch.matmul(query * scaling, key.transpose(2, 3))
    if attention_mask is not None:
        if attention_mask.dtype != scores.dtype:  # autocast: float32's min would be -inf, then NaN
            attention_mask = attention_mask.to(scores.dtype).clamp(min=torch.finfo(scores.dtype).min)
        scores += attention_mask
    weights = torch.softmax(scores, dim=-1)
    return _DroppedMatmul.apply(weights, value, dropout).transpose(1, 2).contiguous(), weights


class _DroppedMatmul(torch.autograd.Function):
    """dropout(weights) @ value, keeping for backward only what softmax keeps anyway (its output)
    and the bool mask: the dropped weights, as large as the scores, are made again in backward
    rather than held through the whole forward pass (75 MB of MiniLM's peak at 16 x 128 tokens)."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu")  # backward runs under forward's autocast, as autograd's would
    def forward(ctx, weights: torch.Tensor, value: torch.Tensor, p: float) -> torch.Tensor:
        mask, ctx.scale = dropped(weights.shape, p)
        ctx.save_for_backward(weights, value, mask)
        # the dropout's scale goes on the product, [B, H, T, head], not on the weights
        return torch.matmul(weights.masked_fill(mask, 0), value).mul_(ctx.scale)

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad: torch.Tensor):
        weights, value, mask = ctx.saved_tensors
        grad = grad * ctx.scale
        grad_weights = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.matmul(grad, value.transpose(-1, -2)).masked_fill_(mask, 0)
        if ctx.needs_input_grad[1]:
            grad_value = torch.matmul(weights.masked_fill(mask, 0).transpose(-1, -2), grad)
        return grad_weights, grad_value, None


def _register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

    AttentionInterface.register(ATTENTION, attention)  # registering again replaces it: idempotent
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION, eager_mask)  # additive float masks


def _attention_modules(model: nn.Module) -> list:
    """The Hugging Face encoders inside `model` whose training attention can use `attention`
    (none without importing transformers, if nothing has: a small network trains without it)."""
    if "transformers" not in sys.modules:
        return []
    from transformers import PreTrainedModel

    return [module for module in model.modules()
            if isinstance(module, PreTrainedModel)
            and getattr(module.config, "model_type", None) in ATTENTION_TYPES
            and module.config._attn_implementation == "sdpa"
            and module._can_set_attn_implementation()]


@contextmanager
def cpu_dropout(model: nn.Module):
    """While inside, `model`'s `nn.Dropout` modules and its encoders' attention draw their
    dropout masks with `drop`; afterwards the model is exactly as it was."""
    swapped = [module for module in model.modules() if type(module) is nn.Dropout]
    encoders = _attention_modules(model)
    if encoders:
        _register_attention()
    try:
        for module in swapped:
            module.__class__ = CPUDropout
        for encoder in encoders:
            encoder.set_attn_implementation(ATTENTION)
        yield
    finally:
        for module in swapped:
            module.__class__ = nn.Dropout
        for encoder in encoders:
            encoder.set_attn_implementation("sdpa")
