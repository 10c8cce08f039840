"""`python -m clipforge.cli`: the `clipforge` command, where its script is not on PATH."""

import sys

from clipforge.cli import main

sys.exit(main())
