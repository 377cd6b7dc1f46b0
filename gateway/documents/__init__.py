"""Invoices and credit notes as the documents a customer receives (DESIGN.md §9): PDFs
rendered with Typst from what billing, customer and project hold."""
