"""``python -m analysis`` is the same as the ``cocoon-econ`` console script."""

import sys

from analysis.cli.main import main

sys.exit(main())
