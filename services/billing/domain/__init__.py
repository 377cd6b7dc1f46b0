"""Billing rules: billable items, invoice pricing and tax, numbering, payments, aging. No I/O."""
