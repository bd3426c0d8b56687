"""`python -m mlang` is the `m` command."""
import sys

from mlang.cli import main

sys.exit(main())
