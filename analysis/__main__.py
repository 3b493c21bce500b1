"""``python -m analysis`` is the same as the ``cocoon-econ`` console script."""

import sys

from analysis.cli.main import console_main

sys.exit(console_main())
