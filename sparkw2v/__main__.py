"""`python -m sparkw2v ...` runs the `sparkw2v` command."""
import sys

from .cli import main

sys.exit(main())
