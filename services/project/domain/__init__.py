"""Delivery rules: engagement terms, rate cards, milestones, time, expenses, people. No I/O here."""
