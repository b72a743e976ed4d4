"""``python -m tuneformers``: the same as the ``tuneformers`` command."""

import sys

from .cli.main import main

sys.exit(main())
