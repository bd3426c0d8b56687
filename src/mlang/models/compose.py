"""Composition: `sequentialModel(a, b, ...)`, `parallelModel(a, b, merge=...)`, `customModel(f, ...)`.

Composed models are `MModel`s: they can be composed again, extended, trained and saved.  Types are
checked when they are built (each output against the next input; merge compatibility); unknown
types (plain torch modules from Python) are accepted.
"""
from __future__ import annotations

import importlib
import inspect

import torch
from torch import nn

from mlang.lang import types as T
from mlang.lang.diagnostics import MError
from mlang.models.module import MModel
from mlang.models.shapes import ShapeMismatch, check_sequence, merge_type, stack_input
from mlang.models.spec import ModelSpec

def type_of(part) -> tuple[T.MType, T.MType]:
    """(input, output) M types of a part; plain torch modules are `Any -> Any`."""
    return getattr(part, "input_type", T.ANY), getattr(part, "output_type", T.ANY)


def part_name(part) -> str:
    spec = getattr(part, "spec", None)
    return spec.name if spec is not None else type(part).__name__


def _check_parts(parts, what: str) -> list:
    if not parts:
        raise MError(f"{what} needs at least one model")
    for i, part in enumerate(parts, 1):
        if not isinstance(part, nn.Module):
            raise MError(f"{what}: argument {i} is a {type(part).__name__}, not a model",
                         hint="pass models (declared, loaded or built with the layer catalogue)")
    return list(parts)


class _Composite(MModel):
    """Shared by compositions: input handling is delegated to the first part."""

    def preprocess(self, inputs: list) -> dict:
        first = self.parts[0]
        return first.preprocess(inputs) if hasattr(first, "preprocess") else super().preprocess(inputs)

    def example_inputs(self, batch_size: int = 2) -> dict:
        first = self.parts[0]
        if hasattr(first, "example_inputs"):
            return first.example_inputs(batch_size)
        return super().example_inputs(batch_size)

    def summary_children(self):
        for i, part in enumerate(self.parts):
            yield f"{i}: {part_name(part)}", part

    def parts_config(self, files: dict, prefix: str) -> list:
        from mlang.models.serialize import model_config
        return [model_config(p, files, f"{prefix}part{i}/") for i, p in enumerate(self.parts)]

    @staticmethod
    def parts_from_config(configs: list, files: dict, prefix: str) -> list:
        from mlang.models.serialize import model_from_config
        return [model_from_config(c, files, f"{prefix}part{i}/") for i, c in enumerate(configs)]


def _call_part(part, x, features: dict):
    if x is None:
        return part(**features)
    return part(x)


class SequentialModel(_Composite):
    """Each part's output is the next part's input."""

    kind = "sequential"

    def __init__(self, *parts, name: str = "sequentialModel"):
        parts = _check_parts(parts, "sequentialModel")
        check_sequence([type_of(p) for p in parts], [part_name(p) for p in parts])
        spec = ModelSpec(name, input_type=type_of(parts[0])[0], output_type=type_of(parts[-1])[1])
        super().__init__(spec)
        self.parts = nn.ModuleList(parts)

    def forward(self, x=None, **features):
        out = _call_part(self.parts[0], x, features)
        for part in self.parts[1:]:
            out = part(out)
        return out

    def compute(self, **features):
        return self.forward(**features)

    def config(self, files: dict, prefix: str = "") -> dict:
        return {"name": self.spec.name, "parts": self.parts_config(files, prefix)}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = ""):
        return cls(*cls.parts_from_config(config["parts"], files, prefix), name=config.get("name", "sequentialModel"))


class ParallelModel(_Composite):
    """Every part sees the same input; outputs are merged by concat (last dim), sum or stack (dim 1)."""

    kind = "parallel"

    def __init__(self, *parts, merge: str = "concat", name: str = "parallelModel"):
        parts = _check_parts(parts, "parallelModel")
        names = [part_name(p) for p in parts]
        inputs = [stack_input(type_of(p)[0]) for p in parts]
        for name_i, t in zip(names[1:], inputs[1:]):
            if not T.unify(t, inputs[0], T.Bindings()):
                raise ShapeMismatch(f"parallelModel: {names[0]} takes {type_of(parts[0])[0]} but "
                                    f"{name_i} takes {t}; every part must accept the same input")
        output = merge_type([type_of(p)[1] for p in parts], merge, names)
        super().__init__(ModelSpec(name, input_type=type_of(parts[0])[0], output_type=output))
        self.merge = merge
        self.parts = nn.ModuleList(parts)

    def forward(self, x=None, **features):
        outputs = [_call_part(part, x, features) for part in self.parts]
        if self.merge == "concat":
            return torch.cat(outputs, dim=-1)
        if self.merge == "stack":
            return torch.stack(outputs, dim=1)
        return torch.stack(outputs).sum(0)

    def compute(self, **features):
        return self.forward(**features)

    def config(self, files: dict, prefix: str = "") -> dict:
        return {"name": self.spec.name, "merge": self.merge, "parts": self.parts_config(files, prefix)}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = ""):
        return cls(*cls.parts_from_config(config["parts"], files, prefix), merge=config["merge"],
                   name=config.get("name", "parallelModel"))


class CustomModel(_Composite):
    """`forward_func(x, *submodels)` is the forward pass; the submodels are trained with it."""

    kind = "custom"

    def __init__(self, forward_func, *submodels, input_type: T.MType | None = None,
                 output_type: T.MType | None = None, name: str = "customModel"):
        if not callable(forward_func):
            raise MError(f"customModel: the first argument must be a function, got {type(forward_func).__name__}")
        parts = _check_parts(submodels, "customModel")
        _check_arity(forward_func, len(parts))
        super().__init__(ModelSpec(name, input_type=input_type or type_of(parts[0])[0],
                                   output_type=output_type or T.ANY))
        self.forward_func = forward_func
        self.parts = nn.ModuleList(parts)

    def forward(self, x=None, **features):
        return self.forward_func(features if x is None else x, *self.parts)

    def compute(self, **features):
        return self.forward(**features)

    def config(self, files: dict, prefix: str = "") -> dict:
        from mlang.models.declare import m_function_source

        qualname = getattr(self.forward_func, "__qualname__", "")
        written_in_m = m_function_source(self.forward_func)
        if written_in_m is not None and "<" not in qualname:
            source, filename = written_in_m
            return {"name": self.spec.name, "m_function": qualname, "source": source, "filename": filename,
                    "parts": self.parts_config(files, prefix)}
        module = getattr(self.forward_func, "__module__", None)
        if not module or module == "__main__" or "<" in qualname:
            raise MError(f"customModel '{self.spec.name}' cannot be saved: its forward function "
                         f"{qualname or self.forward_func!r} is not importable by name",
                         hint="define the function in an importable Python module")
        return {"name": self.spec.name, "function": f"{module}:{qualname}",
                "parts": self.parts_config(files, prefix)}

    @classmethod
    def from_config(cls, config: dict, files: dict, prefix: str = ""):
        if "m_function" in config:
            from mlang.models.declare import declarations
            func = declarations(config["source"], config["filename"]).get(config["m_function"])
            if not callable(func):
                raise MError(f"the saved source does not define the function '{config['m_function']}'",
                             field="source")
        else:
            module_name, _, qualname = config["function"].partition(":")
            func = importlib.import_module(module_name)
            for attr in qualname.split("."):
                func = getattr(func, attr)
        return cls(func, *cls.parts_from_config(config["parts"], files, prefix), name=config.get("name", "customModel"))


def _check_arity(func, n_models: int) -> None:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return
    if any(p.kind in (p.VAR_POSITIONAL,) for p in params):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if not len(required) <= 1 + n_models <= len(positional):
        raise MError(f"customModel: the forward function takes {len(positional)} argument(s) but is "
                     f"given the input and {n_models} submodel(s)",
                     hint="write it as func(x, model1, model2, ...)")


def sequentialModel(*models, name: str = "sequentialModel") -> SequentialModel:
    """`sequentialModel(a, b, ...)`: a's output feeds b, and so on."""
    return SequentialModel(*models, name=name)


def parallelModel(*models, merge: str = "concat", name: str = "parallelModel") -> ParallelModel:
    """`parallelModel(a, b, merge="concat"|"sum"|"stack")`: the same input to every model, merged."""
    return ParallelModel(*models, merge=merge, name=name)


def customModel(forward_func, *models, input_type=None, output_type=None,
                name: str = "customModel") -> CustomModel:
    """`customModel(f, a, b)`: `f(x, a, b)` is the forward pass over the submodels."""
    return CustomModel(forward_func, *models, input_type=input_type, output_type=output_type, name=name)
