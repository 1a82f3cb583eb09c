"""Learning: the model zoo, features, cross-validation, tuning, ensembles, diagnostics, projections, and the functions that run in child processes."""
