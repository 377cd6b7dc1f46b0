"""revenue rules: pure Python, no I/O."""
