"""M builtins of the optimize stage, registered without importing torch (entry point `mlang.builtins`)."""
