"""The M front end: parse, check and compile M source (see docs/architecture.md)."""

__all__: list[str] = []
