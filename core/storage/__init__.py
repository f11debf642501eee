"""Layer 0, storage: atomic file writes and the disk cache of analyses (with the copies shipped in model folders)."""
