"""Connect's use cases: sources, intake, processing and exceptions (ports in ports.py)."""
