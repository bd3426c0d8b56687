"""The training progress display: a Rich bar with loss and validation metric on a terminal, silent otherwise."""
from __future__ import annotations

import os
import sys


def wanted(progress: bool | None) -> bool:
    """Show a bar when asked, or by default when stderr is a terminal and not under CI."""
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() and not os.environ.get("CI")


class TrainingProgress:
    """One bar over all optimizer steps; `update(...)` shows the latest loss and metric."""

    def __init__(self, total_steps: int, enabled: bool):
        self.enabled = enabled
        self._bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                 TextColumn("{task.fields[status]}"),
                                 console=Console(file=sys.stderr), transient=False)
            self._task = self._bar.add_task("fine-tuning", total=total_steps, status="")
        self.status = {}

    def __enter__(self) -> "TrainingProgress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, steps: int, **status) -> None:
        """Move the bar on by `steps` batches, showing the given figures."""
        if self._bar is None:
            return
        self.status.update(status)
        text = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in self.status.items())
        self._bar.update(self._task, advance=steps, status=text)
