"""billing rules: pure Python, no I/O."""
