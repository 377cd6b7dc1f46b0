"""Customer rules: identity, normalization, resolution order and merges. No I/O here."""
