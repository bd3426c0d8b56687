"""The engine stage of M's pipeline (see docs/architecture.md)."""

__all__: list[str] = []
