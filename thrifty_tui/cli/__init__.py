"""The `thrifty-tui` command: `main` parses the arguments and runs one subcommand (the app
without one); one module per group of subcommands (data, label, bundle)."""

from thrifty_tui.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
