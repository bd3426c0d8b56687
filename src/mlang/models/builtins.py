"""M builtins of the models stage, registered without importing torch (entry point `mlang.builtins`)."""
