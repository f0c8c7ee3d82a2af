"""`python -m app.cli ...` runs the `attrib` command (the tests and benchmarks start the app this way)."""
import sys

from app.cli import main

sys.exit(main())
