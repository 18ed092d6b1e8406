"""`python -m gateway` is the `kanban-edge` command."""

import sys

from gateway.cli import main

sys.exit(main())
