"""What runs in a child process: opening and preparing data (loading), cross-validating,
refitting, diagnosing, exporting and predicting (fits), and labeling's model (active). Each
function takes paths and plain values and returns a small record or writes a file; nothing
in data/, learn/, policy/ or store/ imports these."""
