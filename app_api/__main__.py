"""``python -m app_api`` is the ``superapp`` command."""

from app_api.cli import main

main()
