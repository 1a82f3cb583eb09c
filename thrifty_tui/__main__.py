"""`python -m thrifty_tui` runs the same command as `thrifty-tui`."""

from thrifty_tui.cli import main

raise SystemExit(main())
