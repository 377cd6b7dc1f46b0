"""The billing service: see DESIGN.md; built in its own issue."""
