# TEMPORARY local shim (not committed): main's engine move is half done.
from thrifty_tui.engine.jobs.requests import *  # noqa
from thrifty_tui.engine.jobs.requests import Job, LabelingJob  # noqa
