"""``python -m chartgen``: the chartgen command."""

from chartgen.cli import main

main()
