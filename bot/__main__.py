"""``python -m bot`` is the ``cardcare`` command."""

from bot.cli import main

main()
