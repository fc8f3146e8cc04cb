"""Client keys ("licenses"): creation and administration (`service`), limit syntax (`limits`), and
the per-request guard that authenticates a key and enforces its limits (`guard`)."""
