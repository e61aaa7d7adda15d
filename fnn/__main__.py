"""``python -m fnn`` runs the ``fnn`` command."""

import sys

from fnn.cli import main

sys.exit(main())
