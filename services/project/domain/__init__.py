"""project rules: pure Python, no I/O."""
