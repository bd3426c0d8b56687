"""M builtins of the registry stage, registered without importing torch (entry point `mlang.builtins`)."""
