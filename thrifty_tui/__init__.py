"""thrifty-tui: a terminal app for thrifty machine learning."""

__version__ = "0.1.0"
