"""`EvaluationReport`: the metrics of one evaluation, printable as a table and serializable to JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class EvaluationReport:
    """Metric name → value, with the task, the number of examples and the class names.

    `report["accuracy"]`, `report.to_dict()`, `report.to_json(path=None)`; printing it (or
    `rich.print`) shows a table, with the confusion matrix as its own table when asked for.
    """

    def __init__(self, metrics: dict[str, Any], *, task: str, count: int,
                 labels: list | None = None, model: str | None = None, data: str | None = None):
        self.metrics = dict(metrics)
        self.task = task
        self.count = count
        self.labels = labels
        self.model = model
        self.data = data

    def __getitem__(self, name: str):
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"{name!r} was not evaluated (have: {', '.join(self.metrics)})") from None

    def __contains__(self, name: str) -> bool:
        return name in self.metrics

    def __iter__(self):
        return iter(self.metrics)

    def keys(self):
        return self.metrics.keys()

    def items(self):
        return self.metrics.items()

    def to_dict(self) -> dict:
        return {"task": self.task, "count": self.count, "labels": self.labels,
                "model": self.model, "data": self.data, "metrics": self.metrics}

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """The report as JSON text; also written to `path` when given."""
        text = json.dumps(self.to_dict(), indent=indent, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def __rich__(self):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        title = Text(f"Evaluation ({self.task}, {self.count} examples" +
                     (f", {self.data}" if self.data else "") + ")", style="bold")
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        matrix = None
        for name, value in self.metrics.items():
            if name == "confusion_matrix":
                matrix = value
                continue
            table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
        parts = [title, table]
        if matrix is not None:
            parts += [Text("confusion matrix (rows: true class, columns: predicted)"),
                      self._confusion_table(matrix)]
        return Group(*parts)

    def _confusion_table(self, matrix):
        from rich.table import Table

        names = [str(n) for n in (self.labels or range(len(matrix)))]
        table = Table()
        table.add_column("")
        for name in names:
            table.add_column(name, justify="right")
        for name, row in zip(names, matrix):
            table.add_row(name, *(str(v) for v in row))
        return table

    def __str__(self) -> str:
        from rich.console import Console

        console = Console(width=100, record=True, file=_Discard(), force_terminal=False,
                          color_system=None)
        console.print(self)
        return console.export_text().rstrip()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}=..."
                          for k, v in self.metrics.items())
        return f"EvaluationReport({self.task}, n={self.count}: {shown})"


class _Discard:
    """A file that drops writes (the text is taken from the console's record instead)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None
