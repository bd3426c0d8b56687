"""The registry stage: the model repository — versions, aliases, lineage, verified artifacts.

`save(model, "name")` → `"name:N"`; `load("name")`, `load("name:3")`, `load("name@prod")`;
`Repository` for everything else (listing, lineage, diff, aliases, removal, gc).  Metadata sits
behind the `Store` interface (`SQLiteStore` locally).  See docs/registry.md.
"""
from mlang.registry.refs import ModelRef, parse_ref
from mlang.registry.repository import (GcReport, ModelSummary, Repository, list_models, load,
                                       save)
from mlang.registry.sqlite_store import SQLiteStore
from mlang.registry.store import AliasMove, FileRecord, Store, VersionRecord

__all__: list[str] = ["save", "load", "list_models", "Repository", "Store", "SQLiteStore",
                      "ModelRef", "parse_ref", "VersionRecord", "FileRecord", "AliasMove",
                      "ModelSummary", "GcReport"]
