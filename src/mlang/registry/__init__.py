"""The registry stage: the model repository — versions, aliases, lineage, verified artifacts.

`save(model, "name")` → `"name:N"`; `load("name")`, `load("name:3")`, `load("name@prod")`;
`Repository` for everything else (listing, lineage, diff, aliases, removal, gc).  Metadata sits
behind the `Store` interface (`SQLiteStore` locally, `PostgresStore` shared), bytes behind
`ArtifactStore` (a folder, or S3).  See docs/registry.md.  Names are imported
on first use (`mlang.lang.exports`).
"""
from mlang.lang.exports import lazy_exports

_EXPORTS = {
    "save": "mlang.registry.repository",
    "load": "mlang.registry.repository",
    "list_models": "mlang.registry.repository",
    "Repository": "mlang.registry.repository",
    "Store": "mlang.registry.store",
    "SQLiteStore": "mlang.registry.sqlite_store",
    "PostgresStore": "mlang.registry.postgres_store",
    "ArtifactStore": "mlang.registry.blobs",
    "LocalArtifactStore": "mlang.registry.blobs",
    "S3ArtifactStore": "mlang.registry.s3",
    "ModelRef": "mlang.registry.refs",
    "parse_ref": "mlang.registry.refs",
    "VersionRecord": "mlang.registry.store",
    "FileRecord": "mlang.registry.store",
    "AliasMove": "mlang.registry.store",
    "ModelSummary": "mlang.registry.repository",
    "GcReport": "mlang.registry.repository",
    "UnboundVersionWarning": "mlang.registry.repository",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
