"""Hyperparameter spaces: `uniform`, `logUniform`, `intRange`, `choice`, and conditions.

A space is an ordered mapping from names to parameter distributions.  A name is either a field
of the model being tuned (`dropout`, `num_layers`) or a training setting that
`fine_tune_model` accepts (`lr`, `batch_size`, `epochs`).  A parameter may be conditional
(`uniform(0.5, 0.99).when(optimizer="sgd")`): it is sampled only in trials where the parameter
it depends on took one of the given values.  The space is torch-free; it talks to Optuna only
through a trial's `suggest_*` methods.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from mlang.lang.diagnostics import MError

# Optuna stores categorical values in its storage as JSON: only these types survive the trip.
_CATEGORICAL_TYPES = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Param(ABC):
    """One hyperparameter's distribution, optionally conditional on earlier parameters.

    `condition` maps a parent parameter's name to the values for which this one is active.
    """

    condition: tuple[tuple[str, tuple], ...] = field(default=(), kw_only=True)

    kind = "param"

    def when(self, **conditions: Any) -> "Param":
        """This parameter, active only when each named parameter takes the given value(s)."""
        if not conditions:
            raise MError("when() needs at least one condition, e.g. when(optimizer=\"sgd\")",
                         hint="name the parameter this one depends on and its value(s)")
        parts = dict(self.condition)
        for name, values in conditions.items():
            values = tuple(values) if isinstance(values, (list, tuple, set)) else (values,)
            parts[name] = values
        return replace(self, condition=tuple(parts.items()))

    def is_active(self, sampled: Mapping[str, Any]) -> bool:
        return all(name in sampled and sampled[name] in values for name, values in self.condition)

    @abstractmethod
    def suggest(self, trial, name: str) -> Any:
        """Draw this parameter's value for an Optuna trial."""

    def grid_values(self) -> list | None:
        """Every value this parameter can take, or None when it is continuous."""
        return None

    def examples(self) -> list:
        """Values the parameter can take (the bounds for ranges), used to type-check it."""
        return []

    def _condition_text(self) -> str:
        if not self.condition:
            return ""
        parts = [f"{n}={v[0]!r}" if len(v) == 1 else f"{n}={list(v)!r}" for n, v in self.condition]
        return ".when(" + ", ".join(parts) + ")"


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MError(f"{what} must be a finite number, got {value!r}")
    return value


def _check_bounds(kind: str, low, high, log: bool = False) -> None:
    _number(low, f"{kind}: low")
    _number(high, f"{kind}: high")
    if not low < high:
        raise MError(f"{kind}({low!r}, {high!r}): low must be less than high",
                     hint=f"write {kind}(low, high) with low < high")
    if log and low <= 0:
        raise MError(f"{kind}({low!r}, {high!r}): a log scale needs low > 0",
                     hint="use uniform() for ranges that include zero")


@dataclass(frozen=True)
class Uniform(Param):
    """A float drawn uniformly from [low, high] (on a grid of `step` when given)."""

    low: float
    high: float
    step: float | None = None
    kind = "uniform"

    def __post_init__(self):
        _check_bounds("uniform", self.low, self.high)
        if self.step is not None and _number(self.step, "uniform: step") <= 0:
            raise MError(f"uniform: step must be positive, got {self.step!r}")

    def suggest(self, trial, name):
        return trial.suggest_float(name, self.low, self.high, step=self.step)

    def grid_values(self):
        if self.step is None:
            return None
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]

    def examples(self):
        return [float(self.low), float(self.high)]

    def __repr__(self):
        step = f", step={self.step!r}" if self.step is not None else ""
        return f"uniform({self.low!r}, {self.high!r}{step}){self._condition_text()}"


@dataclass(frozen=True)
class LogUniform(Param):
    """A positive float whose logarithm is uniform on [log low, log high] (learning rates)."""

    low: float
    high: float
    kind = "logUniform"

    def __post_init__(self):
        _check_bounds("logUniform", self.low, self.high, log=True)

    def suggest(self, trial, name):
        return trial.suggest_float(name, self.low, self.high, log=True)

    def examples(self):
        return [float(self.low), float(self.high)]

    def __repr__(self):
        return f"logUniform({self.low!r}, {self.high!r}){self._condition_text()}"


@dataclass(frozen=True)
class IntRange(Param):
    """An integer in [low, high] inclusive, every `step`, optionally on a log scale."""

    low: int
    high: int
    step: int = 1
    log: bool = False
    kind = "intRange"

    def __post_init__(self):
        for what, value in (("low", self.low), ("high", self.high), ("step", self.step)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise MError(f"intRange: {what} must be an int, got {value!r}",
                             hint="use uniform() for a float range")
        _check_bounds("intRange", self.low, self.high, log=self.log)
        if self.step < 1:
            raise MError(f"intRange: step must be at least 1, got {self.step}")
        if self.log and self.step != 1:
            raise MError("intRange: a log scale needs step=1")

    def suggest(self, trial, name):
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def grid_values(self):
        return list(range(self.low, self.high + 1, self.step))

    def examples(self):
        return [self.low, self.high]

    def __repr__(self):
        extra = (f", step={self.step}" if self.step != 1 else "") + (", log=true" if self.log else "")
        return f"intRange({self.low}, {self.high}{extra}){self._condition_text()}"


@dataclass(frozen=True)
class Choice(Param):
    """One of a fixed list of values (numbers, strings, booleans or none)."""

    options: tuple
    kind = "choice"

    def __post_init__(self):
        if not self.options:
            raise MError("choice() needs at least one option", hint="write choice(a, b, ...)")
        for option in self.options:
            if not isinstance(option, _CATEGORICAL_TYPES):
                raise MError(f"choice: option {option!r} is a {type(option).__name__}; options "
                             "must be numbers, strings, booleans or none",
                             hint="name the alternatives with strings and map them in your code")
        if len(set(map(repr, self.options))) != len(self.options):
            raise MError(f"choice{self.options!r}: options must be distinct")

    def suggest(self, trial, name):
        return trial.suggest_categorical(name, list(self.options))

    def grid_values(self):
        return list(self.options)

    def examples(self):
        return list(self.options)

    def __repr__(self):
        return "choice(" + ", ".join(map(repr, self.options)) + ")" + self._condition_text()


def uniform(low: float, high: float, step: float | None = None) -> Uniform:
    """A float uniform on [low, high]; M: `uniform(0.0, 0.5)`."""
    return Uniform(low, high, step)


def log_uniform(low: float, high: float) -> LogUniform:
    """A float log-uniform on [low, high] (low > 0); M: `logUniform(1e-5, 1e-3)`."""
    return LogUniform(low, high)


def int_range(low: int, high: int, step: int = 1, log: bool = False) -> IntRange:
    """An int in [low, high] inclusive; M: `intRange(1, 4)`."""
    return IntRange(low, high, step, log)


def choice(*options: Any) -> Choice:
    """One of the given values; M: `choice(16, 32)` or `choice([16, 32])`."""
    if len(options) == 1 and isinstance(options[0], (list, tuple)):
        options = tuple(options[0])
    return Choice(tuple(options))


class HyperparamSpace:
    """An ordered, validated set of named hyperparameters."""

    def __init__(self, params: Mapping[str, Param]):
        self.params: dict[str, Param] = {}
        for name, param in params.items():
            self._add(name, param)

    def _add(self, name: Any, param: Any) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise MError(f"hyperparameter name {name!r} is not an identifier", field=str(name))
        if not isinstance(param, Param):
            raise MError(f"hyperparameter {name!r} is {param!r}, not a distribution", field=name,
                         hint="use uniform(), logUniform(), intRange() or choice()")
        for parent, values in param.condition:
            self._check_condition(name, parent, values)
        self.params[name] = param

    def _check_condition(self, name: str, parent: str, values: tuple) -> None:
        if parent not in self.params:
            where = "a parameter defined earlier in the space"
            raise MError(f"hyperparameter {name!r} depends on {parent!r}, which is not {where}",
                         field=name, hint=_did_you_mean(parent, self.params) or
                         f"define {parent!r} before {name!r}")
        possible = self.params[parent].grid_values()
        if possible is not None:
            for value in values:
                if value not in possible:
                    raise MError(f"hyperparameter {name!r} depends on {parent}={value!r}, but "
                                 f"{parent!r} never takes that value", field=name,
                                 hint=f"{parent!r} takes {possible!r}")

    @property
    def names(self) -> list[str]:
        return list(self.params)

    def sample(self, trial) -> dict[str, Any]:
        """Suggest every active parameter from an Optuna trial, in definition order."""
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if param.is_active(values):
                values[name] = param.suggest(trial, name)
        return values

    def grid(self) -> dict[str, list]:
        """The search space for exhaustive grid search (every parameter must be discrete)."""
        grid = {}
        for name, param in self.params.items():
            values = param.grid_values()
            if values is None:
                raise MError(f"grid search needs discrete parameters, but {name!r} is {param!r}",
                             field=name, hint="use choice(), intRange() or uniform(..., step=...)")
            grid[name] = values
        return grid

    def grid_size(self) -> int:
        return math.prod(len(values) for values in self.grid().values())

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def __repr__(self) -> str:
        body = ", ".join(f"{name}: {param!r}" for name, param in self.params.items())
        return "defineHyperparamSpace({" + body + "})"


def define_hyperparam_space(params: Mapping[str, Param] | None = None, **more: Param) -> HyperparamSpace:
    """A hyperparameter space from `{name: distribution}` (M: `defineHyperparamSpace({...})`)."""
    if isinstance(params, HyperparamSpace):
        params = params.params
    if params is not None and not isinstance(params, Mapping):
        raise MError(f"defineHyperparamSpace expects a dict of name: distribution, got {params!r}",
                     hint="defineHyperparamSpace({lr: logUniform(1e-5, 1e-3)})")
    return HyperparamSpace({**(params or {}), **more})


def _did_you_mean(name: str, candidates) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None
