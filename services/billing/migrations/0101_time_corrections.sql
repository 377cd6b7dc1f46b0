-- Corrections of approved time (DESIGN.md §9): the difference is billed as an item of its
-- own, negative hours and amount when the correction lowered them (a credit line).
ALTER TABLE billable_items DROP CONSTRAINT billable_items_quantity_check;
ALTER TABLE billable_items ADD CONSTRAINT billable_items_quantity_check CHECK (quantity <> 0);

-- A draft whose only lines are credits has a negative total until more work is billed with
-- it (it is not issued while negative); its amount paid is zero meanwhile.
DO $$
DECLARE
    found text;
BEGIN
    SELECT conname INTO found FROM pg_constraint
     WHERE conrelid = 'invoices'::regclass AND contype = 'c'
       AND pg_get_constraintdef(oid) LIKE '%amount_paid <= total%';
    EXECUTE format('ALTER TABLE invoices DROP CONSTRAINT %I', found);
END
$$;
ALTER TABLE invoices ADD CONSTRAINT invoices_amount_paid_check
    CHECK (amount_paid >= 0 AND (amount_paid <= total OR amount_paid = 0));
