"""Revenue rules: recognition per billing model, the double-entry journal, periods. No I/O."""
