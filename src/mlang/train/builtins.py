"""M builtins of the train stage, registered without importing torch (entry point `mlang.builtins`)."""
