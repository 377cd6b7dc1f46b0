-- The customer's purchase-order number of an engagement (DESIGN.md §9); '' when none.
ALTER TABLE engagements ADD COLUMN purchase_order_number text NOT NULL DEFAULT '';
