"""The live table of a tuning run's trials (Rich), shown only when the console is a terminal."""
from __future__ import annotations

import time

# Rows shown at once: the running trials and the most recent finished ones.
VISIBLE_ROWS = 15


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _format_params(params: dict) -> str:
    return ", ".join(f"{k}={_format_value(v)}" for k, v in params.items())


def trials_table(trials, *, metric: str, title: str, best_number: int | None = None,
                 limit: int | None = None):
    """A Rich table of trials: number, state, parameters, epochs reported, metric, duration."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("state")
    table.add_column("params", overflow="fold")
    table.add_column("epochs", justify="right")
    table.add_column(metric, justify="right")
    table.add_column("time", justify="right")
    shown = trials if limit is None else _recent(trials, limit)
    for trial in shown:
        steps = trial.intermediate_values
        value = trial.value if trial.value is not None else (
            steps[max(steps)] if steps else None)
        end = trial.datetime_complete.timestamp() if trial.datetime_complete else time.time()
        start = trial.datetime_start.timestamp() if trial.datetime_start else end
        style = "bold green" if trial.number == best_number else None
        table.add_row(str(trial.number), trial.state.name.lower(), _format_params(trial.params),
                      str(len(steps)), "" if value is None else f"{value:.4f}",
                      f"{end - start:.1f}s", style=style)
    return table


def _recent(trials, limit: int):
    running = [t for t in trials if not t.state.is_finished()]
    finished = [t for t in trials if t.state.is_finished()]
    return (finished + running)[-limit:]


class TrialBoard:
    """Redraws the trial table from the study's storage; silent when `enabled` is false."""

    def __init__(self, *, metric: str, target: int, enabled: bool):
        self.metric = metric
        self.target = target
        self.enabled = enabled
        self._live = None

    def __enter__(self) -> "TrialBoard":
        if self.enabled:
            from rich.live import Live

            self._live = Live(refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            if not self._live.console.is_terminal:
                self._live.console.line()  # the last frame ends without a newline there
            self._live = None

    def refresh(self, study) -> None:
        if self._live is None:
            return
        trials = study.get_trials(deepcopy=False)
        finished = sum(t.state.is_finished() for t in trials)
        best = _best_trial(study)
        best_text = (f", best #{best.number} {self.metric}={best.value:.4f}" if best else "")
        title = f"study {study.study_name}: {finished}/{self.target} trials{best_text}"
        self._live.update(trials_table(trials, metric=self.metric, title=title,
                                       best_number=best.number if best else None,
                                       limit=VISIBLE_ROWS))


def _best_trial(study):
    try:
        return study.best_trial
    except ValueError:  # no trial has completed yet
        return None
