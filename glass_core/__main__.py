"""`python -m glass_core …`: see glass_core.cli."""

import sys

from glass_core.cli import main

sys.exit(main())
