"""`python -m descgraph.cli`: the descgraph command."""

import sys

from descgraph.cli import main

sys.exit(main())
