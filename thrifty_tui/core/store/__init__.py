"""Storage: the workspace (SQLite), labels, bundles (atomic writes, manifest, checksums) and the types a bundle may hold."""
