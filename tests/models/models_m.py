"""Test helpers: run M source through the front end and the models stage, or only check it."""
from __future__ import annotations

import textwrap


def run_m(source: str, filename: str = "test.m") -> dict:
    """Check, compile and run M source as `m run` does; returns the module's globals."""
    from mlang.lang.api import run_source

    return run_source(textwrap.dedent(source), filename)


def run_unchecked(source: str, filename: str = "test.m") -> dict:
    """Run M source without `m check` first, to test the errors raised at run time."""
    from mlang.lang.api import run_source

    return run_source(textwrap.dedent(source), filename, check=False)


def check_m(source: str, filename: str = "test.m") -> list:
    """What `m check` reports for M source (the front end's checks and the models plugin)."""
    from mlang.lang.api import check_source

    return check_source(textwrap.dedent(source), filename)


def plugin_only(source: str, filename: str = "test.m") -> list:
    """The models checker plugin's own diagnostics (without the front end's checks)."""
    from mlang.lang.parser import parse
    from mlang.models.check import check_models

    return check_models(parse(textwrap.dedent(source), filename))
