"""`python -m descgraph`: the descgraph command (what torchrun starts: `torchrun ... -m descgraph run CONF`)."""

import sys

from descgraph.cli import main

sys.exit(main())
