-- Where a customer's invoices go (DESIGN.md §9): the billing contact {name, email} and the
-- postal address {lines, city, postcode, country}, each one value set and read whole.
ALTER TABLE customers
    ADD COLUMN billing_contact jsonb,
    ADD COLUMN billing_address jsonb;
