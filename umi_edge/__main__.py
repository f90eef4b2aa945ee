"""``python -m umi_edge`` runs the CLI."""

import sys

from umi_edge.cli import main

sys.exit(main())
