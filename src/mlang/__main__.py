import sys

from mlang.cli import main

sys.exit(main())
