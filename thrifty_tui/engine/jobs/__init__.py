"""The jobs the worker runs: what the screens and the CLI may ask for (requests: frozen,
stdlib only, re-exported here), and one module per job that carries it out with a
``JobContext`` (open_data, screen, final_fit, export, restore, labeling)."""

from thrifty_tui.engine.jobs.requests import (
    ConnectCluster,
    EditLabels,
    Export,
    Job,
    Label,
    LabelingJob,
    OpenDataset,
    OpenLabeling,
    Predict,
    Restore,
    Screen,
    Shutdown,
)

__all__ = ["ConnectCluster", "EditLabels", "Export", "Job", "Label", "LabelingJob",
           "OpenDataset", "OpenLabeling", "Predict", "Restore", "Screen", "Shutdown"]
