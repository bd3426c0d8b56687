"""M builtins of the data stage, registered without importing torch (entry point `mlang.builtins`)."""
