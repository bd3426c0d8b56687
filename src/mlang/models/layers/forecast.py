"""Forecast(layers..., target="level"|"returns", scaling="global"|"window"): a forecasting stack
that copes with non-stationary series (prices that leave the range of the training years).

The wrapped layers map a window `[B, T, features]` to `[B, horizon]`.  Around them:

- `scaling="window"`: each window is standardized by its own mean and standard deviation (per
  feature) before the layers see it, and the prediction is mapped back with the first feature's
  statistics of that window.  A window from 2008 and one from 1960 look alike to the layers.
- `target="returns"`: the layers predict the change from the window's last value of the first
  feature (in the scaled units), which is added back.  The last layer starts at zero, so an
  untrained forecaster is the random walk (tomorrow = today) and training learns departures from it.

The output is always in the data's own units (the next value of the first feature), so training,
`evaluate`, `predict`, the Engine and exports see an ordinary forecaster.  `"global"` / `"level"`
leave the window and the prediction as they are: the plain LSTM forecaster.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mlang.lang import types as T
from mlang.models.layers.base import Layer, ShapeError, choice_hint, dims_of, layer_from_config, register_layer

TARGETS = ("level", "returns")
SCALINGS = ("global", "window")


@register_layer
@dataclass(init=False)
class Forecast(Layer):
    NAME = "Forecast"
    VARARGS = "layers"
    layers: list = field(default_factory=list)
    target: str = "level"
    scaling: str = "global"

    def __init__(self, *layers, target: str = "level", scaling: str = "global", span=None,
                 input_shape=None):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        self.layers = list(layers)
        self.target, self.scaling = target, scaling
        self.span = span
        self.input_shape = input_shape
        self.__post_init__()

    def validate(self):
        if not self.layers:
            raise self.error("needs the layers that forecast, e.g. Forecast(LSTM(64), Dense(1))")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise self.error(f"wraps layers, got {type(layer).__name__} {layer!r}")
        if self.target not in TARGETS:
            raise self.error(f"unknown target {self.target!r}", hint=choice_hint("target", self.target, TARGETS),
                             argument="target")
        if self.scaling not in SCALINGS:
            raise self.error(f"unknown scaling {self.scaling!r}", hint=choice_hint("scaling", self.scaling, SCALINGS),
                             argument="scaling")

    def output_type(self, x: T.MType) -> T.MType:
        from mlang.models.shapes import propagate

        dims_of(x, 3, "[B, window, features]")
        out = propagate(x, self.layers)[-1]
        if dims_of(out) is not None and len(dims_of(out)) != 2:
            raise ShapeError(f"needs its layers to give [B, horizon], but they give {out}")
        return out

    def build(self, x: T.MType):
        from torch import nn

        from mlang.models.layers._modules import ForecastBlock
        from mlang.models.shapes import build_modules

        return ForecastBlock(nn.Sequential(*build_modules(x, self.layers)), self.target, self.scaling)

    def to_config(self) -> dict:
        return {"layer": self.NAME, "layers": [layer.to_config() for layer in self.layers],
                "target": self.target, "scaling": self.scaling}

    @classmethod
    def from_config(cls, config: dict) -> "Forecast":
        return cls(*(layer_from_config(c) for c in config["layers"]),
                   target=config.get("target", "level"), scaling=config.get("scaling", "global"))

    def describe(self) -> str:
        options = "".join(f", {name}={getattr(self, name)!r}" for name, default in
                          (("target", "level"), ("scaling", "global")) if getattr(self, name) != default)
        return f"Forecast({', '.join(layer.describe() for layer in self.layers)}{options})"

