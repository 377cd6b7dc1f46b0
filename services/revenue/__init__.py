"""The revenue service: see DESIGN.md; built in its own issue."""
