"""M builtins of the serve stage, registered without importing torch (entry point `mlang.builtins`)."""
