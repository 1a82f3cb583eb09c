# TEMPORARY local shim (not committed)
import sys
from thrifty_tui.engine.jobs import labeling as _l
sys.modules[__name__] = _l
