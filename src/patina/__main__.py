"""`python -m patina` runs the CLI."""

from patina.cli.app import main

main()
