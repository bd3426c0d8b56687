"""`LayerStackModel`: an `MModel` made of an ordered list of catalogue layers."""
from __future__ import annotations

from torch import nn

from mlang.lang import types as T
from mlang.models.layers.base import layer_from_config
from mlang.models.module import MModel, input_mismatch
from mlang.models.shapes import (
    build_modules, check_output, format_shape, propagate, reject_input_shape, stack_input,
)
from mlang.models.spec import LayerEntry, ModelSpec, type_from_json, type_to_json


class LayerList(nn.ModuleList):
    """The built layers; calling it runs them in order (`self.layers(x)` in a forward block)."""

    def forward(self, x):
        for module in self:
            x = module(x)
        return x


class LazyLayerList(LayerList):
    """Layers whose input is only known when first called (the stack of a model with a forward
    block, fed by its submodels): built, shape-checked, on the first call — as Keras does."""

    def __init__(self, specs: list):
        super().__init__()
        self.specs = list(specs)
        self.types: list[T.MType] = []
        self.built = not self.specs

    def forward(self, x):
        if not self.built:
            self.build_for(T.TensorType("float32", (T.Sym("B"), *x.shape[1:])))
        return super().forward(x)

    def build_for(self, input_type: T.MType) -> None:
        self.types = propagate(input_type, self.specs)
        modules = build_modules(input_type, self.specs)
        device = next((p.device for p in self.parameters()), None)
        for module in modules:
            self.append(module if device is None else module.to(device))
        self.built = True


def run_layers(layers, x=None, **features):
    """Run `layers` in order; a first layer that preprocesses raw inputs itself (a pretrained
    encoder from the zoo) receives the feature tensors as keywords."""
    modules = iter(layers)
    if x is None:
        x = next(modules)(**features)
    for module in modules:
        x = module(x)
    return x


class LayerStackModel(MModel):
    """Runs its layers in order.  Shapes are checked when it is built, before it ever runs."""

    kind = "layers"

    def __init__(self, layers: list, input_type: T.MType, output_type: T.MType | None = None,
                 spec: ModelSpec | None = None, task: str | None = None, labels=None):
        reject_input_shape(layers)
        types = propagate(stack_input(input_type), layers)
        produced = types[-1] if types else stack_input(input_type)
        declared = output_type if output_type is not None else T.ANY
        name = spec.name if spec is not None else "LayerStack"
        check_output(produced, declared, f"model {name}", spec.span if spec is not None else None)
        if spec is None:
            spec = ModelSpec(name, input_type=input_type,
                             layers=[LayerEntry.fixed(l.NAME, span=l.span) for l in layers])
        out = declared if not isinstance(declared, T.AnyType) else produced
        super().__init__(spec, input_type=input_type, output_type=out, task=task, labels=labels)
        self.layer_specs = list(layers)
        self.layer_types = types
        self.layers = LayerList(build_modules(stack_input(input_type), layers))

    def compute(self, x=None, **features):
        try:
            return run_layers(self.layers, x, **features)
        except RuntimeError as error:
            # torch's "mat1 and mat2 shapes cannot be multiplied": say which input was expected.
            mismatch = input_mismatch(self, x)
            if mismatch is not None:
                raise mismatch from error
            raise

    def _input_layer(self):
        first = self.layers[0] if len(self.layers) else None
        return first if first is not None and hasattr(first, "preprocess") else None

    def preprocess(self, inputs: list) -> dict:
        first = self._input_layer()
        return first.preprocess(inputs) if first is not None else super().preprocess(inputs)

    def example_inputs(self, batch_size: int = 2) -> dict:
        first = self._input_layer()
        return first.example_inputs(batch_size) if first is not None else super().example_inputs(batch_size)

    def summary_rows(self):
        return [(f"{i}: {layer.describe()}", format_shape(t), sum(p.numel() for p in module.parameters()))
                for i, (layer, t, module) in enumerate(zip(self.layer_specs, self.layer_types, self.layers))]

    def config(self, files: dict, prefix: str = "") -> dict:
        return {"name": self.spec.name, "input": type_to_json(self.input_type),
                "output": type_to_json(self.output_type),
                "layers": [layer.to_config() for layer in self.layer_specs]}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = "") -> "LayerStackModel":
        spec = ModelSpec(config.get("name", "LayerStack"))
        return cls([layer_from_config(c) for c in config["layers"]], type_from_json(config["input"]),
                   type_from_json(config["output"]), spec=spec)
