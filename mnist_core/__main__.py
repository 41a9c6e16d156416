"""``python -m mnist_core``: the command line (see mnist_core.cli)."""

import sys

from mnist_core.cli import main

sys.exit(main())
