# TEMPORARY local shim (not committed)
from thrifty_tui.engine.executors.local import *  # noqa
