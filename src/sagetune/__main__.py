"""``python -m sagetune`` is the ``sagetune`` command."""

from sagetune.cli import main

main()
