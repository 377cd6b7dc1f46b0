"""The project service: see DESIGN.md; built in its own issue."""
