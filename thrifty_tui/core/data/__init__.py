"""Data in: read any supported file, sniff its dialect and encoding, profile, sample."""
