"""`python -m thrifty_tui` runs the same command as `thrifty-tui`."""

from thrifty_tui.cli.commands import main

raise SystemExit(main())
