"""`autoTuneModel`: Optuna search over a hyperparameter space, with pruning, workers and storage.

Each trial draws values from the space, builds the model with the values that name model fields,
trains it with `fine_tune_model` using the values that name training settings, and reports the
validation metric after every epoch so the pruner can stop hopeless trials early.  Every trial
records the seed it trained with, so `train_trial(ModelType, trial.params, ..., seed=trial.seed)`
reproduces it.  With `storage=` the study lives in a database that several processes (or
machines) share by `study_name`; re-running continues it until `trials` trials have finished.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
import random
import re
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from mlang.lang.diagnostics import MError
from mlang.train.distributed import preload_training_modules
from mlang.train.hpo.progress import TrialBoard
from mlang.train.hpo.space import HyperparamSpace, _did_you_mean, define_hyperparam_space

# Metrics where smaller is better; anything else is maximized unless `direction` says otherwise.
MINIMIZED_METRICS = frozenset({"loss", "mse", "mae", "rmse", "error", "perplexity"})
# A trial whose process died is failed (by the heartbeat, or at once by the parent of `workers`)
# and queued again with the same parameters, at most this many times.
MAX_RETRIES = 3
# Filesystem types (/proc/mounts) on which SQLite's locking cannot be trusted.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ncpfs", "ceph", "glusterfs", "lustre",
    "gpfs", "beegfs", "ocfs2", "gfs2", "davfs", "fuse.sshfs", "fuse.s3fs", "fuse.rclone",
    "fuse.gcsfuse", "fuse.glusterfs", "fuse.cephfs", "fuse.juicefs", "fuse.davfs2"})
PROC_MOUNTS = "/proc/mounts"
# Parameters of fine_tune_model that are not training settings a space may set.
# (auto_tune_model sets metric, seed, progress and callbacks itself.)
_NOT_SETTINGS = frozenset({"model", "train", "valid", "self", "devices", "metric", "seed",
                           "progress", "callbacks"})
HEARTBEAT_S = 30


# ----- what is being tuned ---------------------------------------------------------------------

@dataclass
class TuneTarget:
    """A model type (or factory) and the fields a space may set on it.

    `fields` maps a field name to its M type (None when unknown); `open` means the factory takes
    `**kwargs`, so names it does not list are still passed to it.
    """

    name: str
    build: Callable[..., Any]
    fields: dict[str, Any]
    open: bool = False

    @classmethod
    def of(cls, model_type) -> "TuneTarget":
        from mlang.models.spec import ModelSpec

        spec = getattr(model_type, "spec", None)
        if isinstance(spec, ModelSpec) and callable(model_type):
            if _is_model_instance(model_type):
                raise MError(f"autoTuneModel needs a model type, got an instance of {spec.name}",
                             field="model",
                             hint=f"pass {spec.name} (the type), not {spec.name}(): each trial "
                                  "builds its own model")
            return cls(spec.name, model_type, {n: f.type for n, f in spec.fields.items()})
        if _is_model_instance(model_type) or not callable(model_type):
            raise MError(f"autoTuneModel needs a model type or a function that builds a model, "
                         f"got {type(model_type).__name__}", field="model",
                         hint="pass the model's type, e.g. autoTuneModel(MyClassifier, space, ...)")
        return cls._of_callable(model_type)

    @classmethod
    def _of_callable(cls, factory) -> "TuneTarget":
        name = getattr(factory, "__name__", type(factory).__name__)
        try:
            parameters = inspect.signature(factory).parameters.values()
        except (TypeError, ValueError):
            return cls(name, factory, {}, open=True)
        fields = {p.name: _annotated_type(p.annotation) for p in parameters
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        is_open = any(p.kind is p.VAR_KEYWORD for p in parameters)
        return cls(name, factory, fields, open=is_open)


def _annotated_type(annotation):
    """The M primitive type of a Python annotation (`int`, `"float"`, ...), else None."""
    from mlang.lang import types as T

    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    return T.PRIMITIVES.get(name) if name in ("int", "float", "bool", "str") else None


def _is_model_instance(value) -> bool:
    import torch

    return isinstance(value, torch.nn.Module)


def training_settings() -> dict[str, inspect.Parameter]:
    """The keyword settings `fine_tune_model` accepts (lr, batch_size, epochs, ...)."""
    from mlang.train import fine_tune_model

    return {name: p for name, p in inspect.signature(fine_tune_model).parameters.items()
            if name not in _NOT_SETTINGS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def split_space(space: HyperparamSpace, target: TuneTarget) -> tuple[set[str], set[str]]:
    """The space's names that are model fields and those that are training settings.

    Raises `MError` for a name that is neither (with a "did you mean") and for a distribution whose
    values cannot have the field's or setting's type.
    """
    settings = training_settings()
    model_names, setting_names = set(), set()
    for name, param in space.params.items():
        if name in target.fields:
            _check_field_type(name, param, target)
            model_names.add(name)
        elif name in settings:
            _check_setting_type(name, param, settings[name])
            setting_names.add(name)
        elif target.open:
            model_names.add(name)
        else:
            known = [*target.fields, *settings]
            raise MError(f"hyperparameter {name!r} is neither a field of {target.name} nor a "
                         "training setting", field=name,
                         hint=_did_you_mean(name, known) or
                         f"fields of {target.name}: {', '.join(target.fields) or 'none'}; "
                         f"training settings: {', '.join(settings)}")
    return model_names, setting_names


def _check_field_type(name: str, param, target: TuneTarget) -> None:
    from mlang.models.spec import type_of_value, value_matches_type

    expected = target.fields[name]
    if expected is None:
        return
    for value in param.examples():
        if not value_matches_type(value, expected):
            raise MError(f"hyperparameter {name!r} is {param!r}, but field {name!r} of "
                         f"{target.name} is {expected}: {value!r} is a {type_of_value(value)}",
                         field=name, hint=_type_hint(str(expected)))


def _check_setting_type(name: str, param, setting: inspect.Parameter) -> None:
    default = setting.default
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return
    wants_int = isinstance(default, int)
    for value in param.examples():
        bad = (isinstance(value, bool) or not isinstance(value, (int, float))
               or (wants_int and not isinstance(value, int)))
        if bad:
            kind = "an int" if wants_int else "a number"
            raise MError(f"hyperparameter {name!r} is {param!r}, but training setting {name!r} "
                         f"takes {kind}", field=name, hint=_type_hint("int" if wants_int else "float"))


def _type_hint(type_name: str) -> str:
    if type_name == "int":
        return "use intRange(low, high) or choice() of ints"
    if type_name == "float":
        return "use uniform(), logUniform() or choice() of numbers"
    return f"use choice() with values of type {type_name}"


# ----- one trial -------------------------------------------------------------------------------

def train_trial(model_type, params: Mapping[str, Any], train, valid, *, metric: str = "f1",
                seed: int = 0, on_epoch: Callable[[int, float], None] | None = None,
                **settings):
    """Build and train one configuration; returns `(model, validation score)`.

    `params` are a trial's values (model fields and training settings); `settings` are fixed
    training settings.  With the seed a trial recorded, this reproduces that trial.
    `on_epoch(epoch, score)` is called after every epoch (a pruner raises from it).
    """
    import torch

    target = TuneTarget.of(model_type)
    model_values = {k: v for k, v in params.items() if k in target.fields or
                    (target.open and k not in training_settings())}
    train_values = {k: v for k, v in params.items() if k not in model_values}
    torch.manual_seed(seed)  # a new head is initialised when the model is built
    model = target.build(**model_values)
    return fit_and_score(model, train, valid, metric=metric, seed=seed, on_epoch=on_epoch,
                         **{**settings, **train_values})


def fit_and_score(model, train, valid, *, metric: str, seed: int,
                  on_epoch: Callable[[int, float], None] | None = None, **settings):
    """Train `model` with `fine_tune_model`, validating `metric` after every epoch.

    Returns the model (with its best epoch's weights restored) and that epoch's score.
    """
    from mlang.train import fine_tune_model

    def after_epoch(epoch: int, metrics: dict, model) -> None:
        if on_epoch is not None:
            on_epoch(epoch, float(metrics[f"valid_{metric}"]))

    model = fine_tune_model(model, train, valid, metric=metric, seed=seed, progress=False,
                            callbacks=[after_epoch], **settings)
    return model, float(model.history.best_metric)


# ----- the study -------------------------------------------------------------------------------

@dataclass
class TrialRecord:
    """One trial as the study recorded it."""

    number: int
    state: str
    value: float | None
    params: dict
    seed: int | None
    epochs: int
    duration_s: float | None

    @classmethod
    def of(cls, trial) -> "TrialRecord":
        duration = trial.duration.total_seconds() if trial.duration else None
        return cls(trial.number, trial.state.name.lower(), trial.value, dict(trial.params),
                   trial.user_attrs.get("seed"), len(trial.intermediate_values), duration)


@dataclass
class TuningSummary:
    """What a tuning run found: the best trial, every trial, and where the best model was saved."""

    study_name: str
    storage: str | None
    metric: str
    direction: str
    best_trial: int
    best_value: float
    best_params: dict
    best_seed: int
    trials: list[TrialRecord] = field(default_factory=list)
    saved_as: str | None = None
    _frozen: list = field(default_factory=list, repr=False)  # Optuna's trials, for the table

    def count(self, state: str) -> int:
        return sum(t.state == state for t in self.trials)

    @property
    def finished(self) -> int:
        return self.count("complete") + self.count("pruned")

    def to_dict(self) -> dict:
        return {"study_name": self.study_name, "storage": self.storage, "metric": self.metric,
                "direction": self.direction, "best_trial": self.best_trial,
                "best_value": self.best_value, "best_params": self.best_params,
                "best_seed": self.best_seed, "saved_as": self.saved_as,
                "complete": self.count("complete"), "pruned": self.count("pruned"),
                "failed": self.count("fail"),
                "trials": [t.__dict__ for t in self.trials]}

    def __repr__(self) -> str:
        return (f"TuningSummary(study={self.study_name!r}, best trial #{self.best_trial}: "
                f"{self.metric}={self.best_value:.4f} with {self.best_params}, "
                f"{self.count('complete')} complete, {self.count('pruned')} pruned, "
                f"{self.count('fail')} failed)")

    def __rich__(self):
        from mlang.train.hpo.progress import trials_table

        return trials_table(self._frozen, metric=self.metric, best_number=self.best_trial,
                            title=repr(self))


def auto_tune_model(model_type, space, train, valid, *, trials: int = 20,
                    timeout: float | None = None, metric: str = "f1",
                    direction: str | None = None, sampler: Any = "tpe",
                    pruner: Any = "median", workers: int = 1, storage: Any = None,
                    study_name: str | None = None, seed: int | None = None,
                    same_seed: bool = False, save_as: str | bool = True,
                    enqueue: list[dict] | None = None, progress: bool | None = None,
                    heartbeat_s: int = HEARTBEAT_S, **settings):
    """Search `space` for the `model_type` configuration with the best validation `metric`.

    Returns the best trial's trained model with the study's `TuningSummary` on `model.tuning`.
    `trials` counts finished (complete or pruned) trials in the study, so re-running with the
    same `storage` and `study_name` continues an interrupted study.  `settings` are training
    settings fixed for every trial (e.g. `epochs=3`).  `save_as` names the repository entry of
    the best model (`True`: the study's name, `False`: do not save).  Trial `n` trains with
    seed `seed + n`; with `same_seed=True` every trial trains with `seed`, so a score depends
    only on the parameters (a fair comparison of configurations, free of seed luck).
    The sampler draws trial `n` from a random state seeded by `seed` and `n`, so processes and
    machines sharing a study with the same `seed` draw different trials.  With a database
    `storage`, a running trial beats every `heartbeat_s` seconds; one silent for 4 beats (its
    process died) is failed and run again with the same parameters.
    """
    import optuna

    space = space if isinstance(space, HyperparamSpace) else define_hyperparam_space(space)
    target = TuneTarget.of(model_type)
    split_space(space, target)
    _check_settings(settings, space)
    _check_count("trials", trials)
    _check_count("workers", workers)
    _check_count("heartbeat_s", heartbeat_s)
    direction = _direction(metric, direction)
    # Hyperband's largest budget: the epochs every trial trains, unless they are tuned too.
    epochs = None if "epochs" in space else settings.get(
        "epochs", training_settings()["epochs"].default)
    study_name = study_name or re.sub(r"[^A-Za-z0-9._-]+", "_", f"{target.name}-{metric}")
    save_name = _save_name(save_as, study_name)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    base_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    with tempfile.TemporaryDirectory(prefix="mlang-tune-") as scratch:
        shared = storage
        if workers > 1 and storage is None:
            # Worker processes share the study through a journal file on this machine.
            shared = f"journal:{Path(scratch) / 'study.journal'}"
        study = optuna.create_study(
            study_name=study_name, storage=open_storage(shared, heartbeat_s), direction=direction,
            sampler=make_sampler(sampler, space, base_seed),
            pruner=make_pruner(pruner, epochs),
            load_if_exists=True)
        if study.direction.name.lower() != direction:
            raise MError(f"study {study_name!r} already exists and is "
                         f"{study.direction.name.lower()}d, not {direction}d", field="direction",
                         hint="use another study_name, or the study's own direction")
        for params in enqueue or []:
            study.enqueue_trial(dict(params), skip_if_exists=True)
        objective = _Objective(target, space, train, valid, metric, settings, base_seed,
                               same_seed)
        show = sys.stdout.isatty() if progress is None else progress
        with TrialBoard(metric=metric, target=trials, enabled=show) as board:
            objective.board, objective.study = board, study
            if workers == 1:
                _optimize(study, objective, trials, timeout)
            else:
                _optimize_in_workers(study, objective, shared, sampler, trials, timeout,
                                     workers, board, Path(scratch), heartbeat_s)
            board.refresh(study)
        summary = _summarize(study, metric, direction, storage)
        model = objective.best_model(summary)
    if save_name:
        summary.saved_as = _save_best(model, save_name, summary, train)
    model.tuning = summary
    return model


def _save_name(save_as: str | bool, study_name: str) -> str | None:
    """The repository name to save the best model as, checked before any training."""
    if not save_as:
        return None
    # The registry is a sibling stage: imported only here, when saving was asked for.
    from mlang.registry.refs import check_name

    return check_name(study_name if save_as is True else save_as, "save_as")


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise MError(f"{name} must be a positive int, got {value!r}", field=name)


def _check_settings(settings: dict, space: HyperparamSpace) -> None:
    known = training_settings()
    for name in settings:
        if name not in known:
            raise MError(f"autoTuneModel got an unknown argument {name!r}", field=name,
                         hint=_did_you_mean(name, [*known, *inspect.signature(
                             auto_tune_model).parameters]) or "fixed training settings are "
                         "those fineTuneModel takes: " + ", ".join(known))
        if name in space:
            raise MError(f"{name!r} is both in the space and fixed to {settings[name]!r}",
                         field=name, hint="keep one of the two")


def _direction(metric: str, direction: str | None) -> str:
    if direction is None:
        return "minimize" if metric in MINIMIZED_METRICS else "maximize"
    if direction not in ("maximize", "minimize"):
        raise MError(f"direction must be \"maximize\" or \"minimize\", got {direction!r}",
                     field="direction")
    return direction


def open_storage(storage, heartbeat_s: int = HEARTBEAT_S):
    """An Optuna storage for `storage`: None (in memory), a database URL, `journal:PATH`, or a
    storage object.  SQLite and PostgreSQL URLs let processes on several machines share a study;
    `postgresql://` means PostgreSQL through psycopg 3 (`postgresql+psycopg://`)."""
    import optuna

    if storage is None or not isinstance(storage, str):
        return storage
    if storage.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(storage[len("journal:"):]))
    url = database_url(storage)
    engine = None
    if url.startswith("sqlite"):
        engine = {"connect_args": {"timeout": 60}}
        _warn_if_on_a_network_filesystem(url)
    try:
        return _rdb_storage(url, engine, heartbeat_s)
    except ImportError as missing:
        module = getattr(missing.__cause__, "name", None) or str(missing.__cause__ or missing)
        if url.startswith("postgresql+psycopg:"):
            hint = "pip install 'psycopg[binary]' (PostgreSQL's driver, psycopg 3), or pip install 'm-lang[postgres]'"
        else:
            hint = f"install the Python module {module!r}, or use sqlite:///study.db"
        raise MError(f"the database driver for {url.split(':')[0]!r} is not installed "
                     f"(no module named {module!r})", field="storage", hint=hint) from None
    except Exception as error:  # SQLAlchemy raises many types for a bad URL or database
        raise MError(f"cannot open the study storage {_without_password(storage)!r}: {error}",
                     field="storage", hint='e.g. storage="sqlite:///study.db" or "postgresql://user@host/db"')


# What a database says when another process created Optuna's tables at the same moment.
_CREATED_CONCURRENTLY = ("already exists", "UNIQUE constraint failed", "duplicate key value", "database is locked")


def _rdb_storage(url: str, engine: dict | None, heartbeat_s: int):
    """Optuna's RDBStorage with a heartbeat: it fails the trials of a process that died, and the
    callback queues each again with its parameters, so neither a resumed study nor its other
    workers wait on it.  Processes (machines) that start together on a new database race to
    create its tables; the losers try again and find them made."""
    import optuna

    for attempt in range(6):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=engine, heartbeat_interval=heartbeat_s, grace_period=4 * heartbeat_s,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRIES))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's errors for each database differ
            if attempt == 5 or not any(sign in str(error) for sign in _CREATED_CONCURRENTLY):
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)


def database_url(storage: str) -> str:
    """The SQLAlchemy URL for a storage URL: `postgresql://` and `postgres://` name PostgreSQL
    through psycopg 3 (SQLAlchemy alone would look for psycopg2); a URL naming its driver
    (`postgresql+psycopg2://`) is kept as it is."""
    scheme, separator, rest = storage.partition("://")
    if separator and scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return storage


def network_filesystem(path: str | Path, mounts: str | Path | None = None) -> tuple[str, str] | None:
    """`(filesystem type, mount point)` when `path` lies on a network filesystem (NFS, SMB/CIFS,
    sshfs, ...) according to the mount table, else None."""
    try:
        table = Path(mounts or PROC_MOUNTS).read_text()
    except OSError:
        return None
    target = os.path.realpath(path)
    best = None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        # /proc/mounts writes a space in a path as \040 (and tab, newline, backslash likewise).
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[1])):
            best = (fields[2], point)
    return best if best and best[0] in NETWORK_FILESYSTEMS else None


def _warn_if_on_a_network_filesystem(url: str) -> None:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    found = network_filesystem(Path(database).expanduser().absolute())
    if found:
        kind, point = found
        warnings.warn(
            f"the study's SQLite file {database} is on a network filesystem ({kind} mounted at {point}): "
            "SQLite's file locking is unreliable there (its documentation says not to use it, WAL mode "
            "least of all), and processes on several machines can corrupt the study; use "
            "storage=\"postgresql://user@host/db\", or \"journal:PATH\" (a journal file locks safely on NFS)",
            UserWarning, stacklevel=4)


def make_sampler(sampler, space: HyperparamSpace, seed: int):
    """Optuna's sampler for "tpe", "random" or "grid" (or a sampler object, used as is).

    "tpe" and "random" draw each trial from a random state seeded by `seed` and the trial's
    number (`PerTrialSeedSampler`): the study's storage hands out each number once, so processes
    and machines sharing a study with one `seed` draw different trials, and a run is still
    reproducible.  "grid" gives trial n the n-th point of the grid shuffled by `seed` — the same
    order in every process with that seed, so no point is run twice."""
    if not isinstance(sampler, str):
        return sampler
    first = _sampler_of(sampler, space, seed)  # an unknown name fails here, before any trial
    if sampler == "grid":
        return first
    return _per_trial_seed_class()(lambda trial_seed: _sampler_of(sampler, space, trial_seed), seed)


def _sampler_of(name: str, space: HyperparamSpace, seed: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise MError(f"unknown sampler {name!r}", field="sampler",
                 hint=_did_you_mean(name, ["tpe", "random", "grid"]) or 'use "tpe", "random" or "grid"')


def trial_seed(seed: int, number: int) -> int:
    """The sampler's seed for trial `number` of a study searched with `seed`."""
    digest = hashlib.sha256(f"mlang-sampler:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


@functools.cache
def _per_trial_seed_class():
    """The class, made on first use: Optuna is imported only when something is tuned."""
    import optuna

    class PerTrialSeedSampler(optuna.samplers.BaseSampler):
        """A sampler (TPE, random, grid) made afresh for every trial, seeded by the study's seed
        and the trial's number.  Several processes started with one seed would otherwise hold
        identical random states and, from the same history, propose the same trials; the trial
        number is unique across all of them, so their draws differ, and stay reproducible.  The
        samplers keep no state between trials but their random state: everything else they
        read from the study's history."""

        def __init__(self, build: Callable[[int], Any], seed: int):
            self.build, self.seed = build, seed
            self._number, self._current = None, build(seed)

        def _for(self, trial):
            if trial.number != self._number:
                self._number, self._current = trial.number, self.build(trial_seed(self.seed, trial.number))
            return self._current

        def before_trial(self, study, trial):
            self._for(trial).before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values):
            self._for(trial).after_trial(study, trial, state, values)

        def reseed_rng(self):
            self._current.reseed_rng()

    return PerTrialSeedSampler


def make_pruner(pruner, epochs: int | None):
    """Optuna's pruner for "median", "hyperband" or none (or a pruner object, used as is)."""
    import optuna

    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if not isinstance(pruner, str):
        return pruner
    if pruner == "median":
        # Judge after every epoch, once two trials have finished to compare with.
        return optuna.pruners.MedianPruner(n_startup_trials=2)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs or "auto")
    raise MError(f"unknown pruner {pruner!r}", field="pruner",
                 hint=_did_you_mean(pruner, ["median", "hyperband", "none"]) or
                 'use "median", "hyperband" or none')


class _Objective:
    """Optuna's objective: sample, train with per-epoch reports, keep the best model in memory."""

    def __init__(self, target: TuneTarget, space: HyperparamSpace, train, valid, metric: str,
                 settings: dict, base_seed: int, same_seed: bool = False):
        self.target, self.space = target, space
        self.train, self.valid = train, valid
        self.metric, self.settings, self.base_seed = metric, settings, base_seed
        self.same_seed = same_seed
        self.kept: tuple[int, float, Any] | None = None  # (trial number, score, model)
        self.board = self.study = None

    def __call__(self, trial) -> float:
        import optuna

        # First of all, which process runs it: the parent of `workers` fails a dead worker's trials.
        trial.set_user_attr("worker", worker_label())
        params = self.space.sample(trial)
        seed = self.base_seed if self.same_seed else self.base_seed + trial.number
        trial.set_user_attr("seed", seed)

        def report(epoch: int, score: float) -> None:
            trial.report(score, epoch)
            self.board.refresh(self.study)
            if trial.should_prune():
                raise optuna.TrialPruned(f"{self.metric}={score:.4f} after epoch {epoch + 1}")

        model, score = train_trial(self.target.build, params, self.train, self.valid,
                                   metric=self.metric, seed=seed, on_epoch=report, **self.settings)
        if self._better(score):
            self.kept = (trial.number, score, model)
        return score

    def _better(self, score: float) -> bool:
        if self.kept is None:
            return True
        maximize = self.study is None or self.study.direction.name == "MAXIMIZE"
        return score > self.kept[1] if maximize else score < self.kept[1]

    def best_model(self, summary: TuningSummary):
        """The best trial's model: kept from this process, else retrained from its record."""
        if self.kept is not None and self.kept[0] == summary.best_trial:
            return self.kept[2]
        model, _ = train_trial(self.target.build, summary.best_params, self.train, self.valid,
                               metric=self.metric, seed=summary.best_seed, **self.settings)
        return model


def _optimize(study, objective: _Objective, trials: int, timeout: float | None,
              mine: int | None = None) -> None:
    """Run trials until the study has `trials` finished ones, at most `mine` of them here
    (processes on other machines may finish the study sooner)."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    if mine is None:
        mine = trials - _finished(study)
    if mine <= 0:
        return
    refresh = lambda study, _trial: objective.board.refresh(study)  # noqa: E731
    study.optimize(objective, n_trials=mine, timeout=timeout,
                   callbacks=[MaxTrialsCallback(trials, states=(TrialState.COMPLETE,
                                                                TrialState.PRUNED)), refresh])


def _finished(study, worker: str | None = None) -> int:
    """The study's finished (complete or pruned) trials; with `worker`, those that process ran."""
    return sum(t.state.is_finished() and t.state.name != "FAIL"
               and (worker is None or t.user_attrs.get("worker") == worker)
               for t in study.get_trials(deepcopy=False))


def _optimize_in_workers(study, objective: _Objective, storage, sampler, trials: int,
                         timeout: float | None, workers: int, board, scratch: Path,
                         heartbeat_s: int = HEARTBEAT_S) -> None:
    """Run the study in `workers` forked processes that share it through `storage`.

    A worker that dies (killed, out of memory) has its running trial failed at once and queued
    again with the same parameters, and a new worker takes over what it had left to run — at
    most `workers` times, after which tuning stops with an error."""
    import multiprocessing

    preload_training_modules()
    context = multiprocessing.get_context("fork")
    started = time.monotonic()
    remaining = trials - _finished(study)
    shares = [remaining // workers + (index < remaining % workers) for index in range(workers)]

    def launch(index: int, mine: int):
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        process = context.Process(target=_worker, args=(index, mine, study.study_name, storage,
                                                        sampler, objective, trials, left, workers,
                                                        scratch, heartbeat_s))
        process.start()
        return process

    running = {index: (launch(index, share), share) for index, share in enumerate(shares) if share > 0}
    deaths: list[int] = []
    try:
        while running:
            board.refresh(study)
            for index, (process, share) in list(running.items()):
                if process.is_alive():
                    continue
                process.join()
                del running[index]
                if process.exitcode == 0 or (scratch / f"worker-{index}.error.json").exists():
                    continue
                deaths.append(process.exitcode)
                label = worker_label(process.pid)
                _fail_and_retry_trials_of(study, label)
                left = share - _finished(study, worker=label)
                if len(deaths) > workers:
                    raise MError(f"tuning worker processes died {len(deaths)} times "
                                 f"({_exit_description(deaths)})", field="workers",
                                 hint="a trial may exhaust the machine's memory: try fewer workers "
                                      "or a smaller model")
                if left > 0 and _finished(study) < trials:
                    warnings.warn(f"tuning worker {label} died ({_exit_description([process.exitcode])}); "
                                  f"its running trial is queued again and a new worker runs its "
                                  f"{left} remaining trial(s)", stacklevel=3)
                    running[index] = (launch(index, left), left)
            time.sleep(0.2)
    finally:
        for process, _ in running.values():
            process.join()
    failures = sorted(scratch.glob("worker-*.error.json"))
    if failures:
        raise MError(**json.loads(failures[0].read_text()))


def worker_label(pid: int | None = None) -> str:
    """How a trial records the process that ran it: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def _exit_description(codes: list[int | None]) -> str:
    import signal

    def one(code):
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"
    return ", ".join(one(code) for code in codes)


def _fail_and_retry_trials_of(study, label: str) -> None:
    """Fail the trials the (dead) process `label` left running, and queue each again."""
    import optuna
    from optuna.trial import TrialState

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(MAX_RETRIES)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("worker") != label:
            continue
        try:
            failed = study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # the heartbeat of another process failed it first (and queued it again)
        retry(study, failed)


def _worker(index: int, mine: int, study_name: str, storage, sampler, objective: _Objective,
            trials: int, timeout: float | None, workers: int, scratch: Path,
            heartbeat_s: int = HEARTBEAT_S) -> None:
    import optuna
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
    # Only the parent draws the table.
    objective.board = TrialBoard(metric=objective.metric, target=trials, enabled=False)
    # A fresh storage connection: database connections must not cross a fork.  The sampler
    # seeds each trial from the seed and the trial's number, so workers draw different trials.
    worker_sampler = make_sampler(sampler, objective.space, objective.base_seed)
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage, heartbeat_s),
                              sampler=worker_sampler, pruner=objective.study.pruner)
    objective.study = study
    try:
        _optimize(study, objective, trials, timeout, mine)
    except MError as error:
        (scratch / f"worker-{index}.error.json").write_text(json.dumps(
            {"message": error.diagnostics[0].message, "hint": error.diagnostics[0].hint,
             "field": error.field}))
        raise SystemExit(1)


def _summarize(study, metric: str, direction: str, storage) -> TuningSummary:
    frozen = study.get_trials(deepcopy=False)
    try:
        best = study.best_trial
    except ValueError:
        states = [t.state.name.lower() for t in frozen]
        raise MError(f"no trial of study {study.study_name!r} completed "
                     f"({states.count('pruned')} pruned, {states.count('fail')} failed)",
                     field="trials", hint="widen the space, add trials, or use pruner=none") from None
    summary = TuningSummary(study.study_name, _without_password(storage),
                            metric, direction, best.number, best.value, dict(best.params),
                            best.user_attrs["seed"], [TrialRecord.of(t) for t in frozen])
    summary._frozen = frozen
    return summary


def _without_password(storage) -> str | None:
    """A storage URL fit to record: `postgresql://user:secret@host/db` → `postgresql://user@host/db`."""
    if not isinstance(storage, str):
        return None
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1@", storage)


def _save_best(model, name: str, summary: TuningSummary, train) -> str:
    # The registry is a sibling stage that train must not import at module level; it is only
    # needed here, after tuning, so it is imported at the point of use.
    from mlang import registry

    tags = {"tuning.study": summary.study_name, "tuning.trial": str(summary.best_trial),
            "tuning.seed": str(summary.best_seed)}
    if summary.storage:
        tags["tuning.storage"] = summary.storage
    return registry.save(model, name, params=summary.best_params,
                         metrics={summary.metric: summary.best_value}, tags=tags, dataset=train)
