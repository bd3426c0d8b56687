"""M builtins of the engine stage, registered without importing torch (entry point `mlang.builtins`)."""
