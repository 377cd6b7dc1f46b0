-- Invoice documents (DESIGN.md §9). The customer's purchase-order number: the engagement's current one in the
-- replica (engagement.activated, engagement.purchase_order_set), and the one an invoice was
-- issued with (NULL while DRAFT).
ALTER TABLE engagements ADD COLUMN purchase_order_number text NOT NULL DEFAULT '';
ALTER TABLE invoices ADD COLUMN purchase_order_number text;

-- What an invoice prints of its customer (DESIGN.md §9): the replica keeps the billing
-- contact {name, email} and address {lines, city, postcode, country} from CUSTOMER events;
-- an issued invoice fixes its bill-to {customer_id, name, country, tax_id, contact, address}.
ALTER TABLE customers ADD COLUMN contact jsonb, ADD COLUMN address jsonb;
ALTER TABLE invoices ADD COLUMN bill_to jsonb;
