"""`python -m papi_research` runs the `papi` command line."""

from .cli import main

main()
