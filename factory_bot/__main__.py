"""`python -m factory_bot` is `factory-bot`."""

from .cli import main

main()
