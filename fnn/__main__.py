"""``python -m fnn`` runs the ``fnn`` command."""

import sys

from .cli import main

sys.exit(main())
