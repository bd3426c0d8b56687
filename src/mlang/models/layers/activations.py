"""Activation(name) and the named activation layers ReLU, GELU, Tanh, Sigmoid, Softmax, ...

Activations keep their input's shape.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from mlang.lang import types as T
from mlang.models.layers.base import Layer, register_layer

# name → (torch.nn class name, constructor kwargs)
ACTIVATIONS = {
    "relu": ("ReLU", {}), "gelu": ("GELU", {}), "tanh": ("Tanh", {}), "sigmoid": ("Sigmoid", {}),
    "softmax": ("Softmax", {"dim": -1}), "log_softmax": ("LogSoftmax", {"dim": -1}),
    "leaky_relu": ("LeakyReLU", {}), "elu": ("ELU", {}), "selu": ("SELU", {}),
    "silu": ("SiLU", {}), "swish": ("SiLU", {}), "softplus": ("Softplus", {}),
    "linear": ("Identity", {}), "identity": ("Identity", {}),
}


def check_activation_name(layer: Layer, name: str) -> None:
    if name.lower() not in ACTIVATIONS:
        close = difflib.get_close_matches(name.lower(), ACTIVATIONS, n=1)
        raise layer.error(f"unknown activation '{name}'",
                          hint=f"did you mean '{close[0]}'?" if close else
                          "one of: " + ", ".join(sorted(ACTIVATIONS)))


def activation_module(name: str, **kwargs):
    from torch import nn
    cls_name, defaults = ACTIVATIONS[name.lower()]
    return getattr(nn, cls_name)(**{**defaults, **kwargs})


@register_layer
@dataclass
class Activation(Layer):
    NAME = "Activation"
    name: str

    def validate(self):
        check_activation_name(self, self.name)

    def output_type(self, x: T.MType) -> T.MType:
        return x

    def build(self, x: T.MType):
        return activation_module(self.name)


class _Named(Layer):
    ACTIVATION = ""

    def output_type(self, x: T.MType) -> T.MType:
        return x

    def build(self, x: T.MType):
        return activation_module(self.ACTIVATION)


@register_layer
@dataclass
class ReLU(_Named):
    NAME, ACTIVATION = "ReLU", "relu"


@register_layer
@dataclass
class GELU(_Named):
    NAME, ACTIVATION = "GELU", "gelu"


@register_layer
@dataclass
class Tanh(_Named):
    NAME, ACTIVATION = "Tanh", "tanh"


@register_layer
@dataclass
class Sigmoid(_Named):
    NAME, ACTIVATION = "Sigmoid", "sigmoid"


@register_layer
@dataclass
class Softmax(Layer):
    NAME = "Softmax"
    dim: int = -1

    def output_type(self, x: T.MType) -> T.MType:
        return x

    def build(self, x: T.MType):
        return activation_module("softmax", dim=self.dim)
