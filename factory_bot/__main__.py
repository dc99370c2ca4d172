"""`python -m factory_bot` is `factory-bot`."""

from factory_bot.cli.app import main

main()
