-- The customer's purchase-order number (DESIGN.md §9): the engagement's current one in the
-- replica (engagement.activated, engagement.purchase_order_set), and the one an invoice was
-- issued with (NULL while DRAFT).
ALTER TABLE engagements ADD COLUMN purchase_order_number text NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN purchase_order_number text;
