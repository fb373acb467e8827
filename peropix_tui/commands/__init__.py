"""Headless CLI subcommands. Each module has ``register(subparsers)``; heavy imports stay inside handlers."""
