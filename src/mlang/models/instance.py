"""`DeclaredModel`: an instance of a model declared in M (`Name(field=value, ...)`)."""
from __future__ import annotations

import torch
from torch import nn

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.shapes import resolve_type
from mlang.models.spec import ModelSpec
from mlang.models.stack import LayerStackModel, LazyLayerList


class DeclaredModel(LayerStackModel):
    """A declared model: its fields are attributes (model-valued fields are submodules), its layers
    a checked stack, and its `forward(x) { ... }` block — when it has one — the forward pass."""

    kind = "declared"

    def __init__(self, spec: ModelSpec, values: dict, layers: list | None = None):
        input_type = resolve_type(spec.input_type, values)
        declared_output = resolve_type(spec.output_type, values)
        if layers is None:
            layers = [entry.make(values) for entry in spec.layers]
        if spec.forward is None:
            super().__init__(layers, input_type, declared_output, spec=spec)
        else:
            # The forward block decides what the layers receive: build them on first use.
            super().__init__([], input_type, None, spec=spec)
            self.output_type = declared_output
            self.layer_specs = layers
            self.layers = LazyLayerList(layers)
        self.field_values = dict(values)
        for name, value in values.items():
            if hasattr(type(self), name):
                from mlang.models.check import reserved_field

                raise reserved_field(name, spec.name, spec.fields[name].span)
            setattr(self, name, value)
        if not getattr(self.layers, "built", True):
            self.materialize()

    def materialize(self) -> None:
        """Run one dummy batch so a lazily built stack has its parameters before training."""
        try:
            example = self.example_inputs(1)
        except MError:
            return  # no known input: the stack is built on the first real call
        was_training = self.training
        self.eval()
        with torch.no_grad():
            self(**example)
        self.train(was_training)
        self.layer_types = self.layers.types

    def forward(self, x=None, **features):
        if self.spec.forward is None:
            if not features and torch.is_tensor(x) and len(self.layers):
                return LayerStackModel.compute(self, x)  # the common case, kept cheap
            return super().forward(x, **features)
        return self.run_forward(features if x is None else x)

    def compute(self, x=None, **features):
        if self.spec.forward is not None:
            return self.run_forward(features if x is None else x)
        if not len(self.layers) and self.spec.base is None:
            from mlang.models.check import computes_nothing

            raise computes_nothing(self.spec.name, self.spec.fields)
        if not len(self.layers):
            raise MError(f"{self.spec.name} has no layers and no forward block, so it cannot be called",
                         hint="declare layers or a forward(x) { ... } block")
        return super().compute(x, **features)

    def run_forward(self, x):
        """The forward block, bound to this instance's current field values.

        The bound function is cached; assigning a field drops it, and a copy of the model (whose
        id differs) binds its own."""
        cached = self.__dict__.get("_bound_forward")
        if cached is None or cached[0] != id(self):
            values = {name: getattr(self, name) for name in self.field_values}
            values["self"] = self
            cached = (id(self), self.spec.forward.bind(values))
            self.__dict__["_bound_forward"] = cached
        return cached[1](x)

    def __setattr__(self, name, value):
        if name in self.__dict__.get("field_values", ()):
            self.__dict__.pop("_bound_forward", None)
        super().__setattr__(name, value)

    def submodels(self) -> dict[str, nn.Module]:
        return {name: value for name, value in self.field_values.items() if isinstance(value, nn.Module)}

    def preprocess(self, inputs: list) -> dict:
        if self.spec.forward is not None:
            for model in self.submodels().values():
                if hasattr(model, "preprocess"):
                    return model.preprocess(inputs)
        return super().preprocess(inputs)

    def example_inputs(self, batch_size: int = 2) -> dict:
        if self.spec.forward is not None and not isinstance(self.input_type, (T.TensorType, T.ImageType)):
            for model in self.submodels().values():
                if hasattr(model, "example_inputs"):
                    return model.example_inputs(batch_size)
        return super().example_inputs(batch_size)

    def summary_rows(self):
        rows = super().summary_rows()
        for name, model in self.submodels().items():
            rows.append((f"{name} ({getattr(getattr(model, 'spec', None), 'name', type(model).__name__)})",
                         str(getattr(model, "output_type", "?")), sum(p.numel() for p in model.parameters())))
        return rows

    def config(self, files: dict, prefix: str = "") -> dict:
        """A model without a forward block saves as its layer stack; with one, the declaring file's
        declarations (models and functions) are saved too and re-declared on restore."""
        if self.spec.forward is None and not self.submodels():
            return {"stack": super().config(files, prefix)}
        from mlang.models.serialize import model_config

        if self.spec.source is None:
            raise MError(f"{self.spec.name} cannot be saved: the source of its forward block is not available")
        fields = {}
        for name, value in self.field_values.items():
            if isinstance(value, nn.Module):
                fields[name] = {"model": model_config(value, files, f"{prefix}{name}/")}
            elif _is_json(value):
                fields[name] = {"value": value}
            else:
                raise MError(f"{self.spec.name} cannot be saved: field '{name}' holds a "
                             f"{type(value).__name__}, which is neither a model nor JSON data")
        return {"name": self.spec.name, "source": self.spec.source, "filename": self.spec.span.file,
                "fields": fields, "layers": [layer.to_config() for layer in self.layer_specs]}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = ""):
        if "stack" in config:
            return LayerStackModel.from_config(config["stack"], files, prefix)
        from mlang.models.declare import redeclare
        from mlang.models.layers.base import layer_from_config
        from mlang.models.serialize import model_from_config

        model_class = redeclare(config["source"], config["filename"], config["name"])
        values = {name: model_from_config(f["model"], files, f"{prefix}{name}/") if "model" in f else f["value"]
                  for name, f in config["fields"].items()}
        return model_class.restore(values, [layer_from_config(c) for c in config["layers"]])


def _is_json(value) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False
