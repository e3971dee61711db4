"""`python -m papi_research` runs the `papi` command line."""

from papi_research.cli import main

main()
