-- An engagement waiting for approval keeps the customer's billing contact and address with
-- the rest of its held activation (engagement.activated carries them to billing).
ALTER TABLE pending_activations ADD COLUMN contact jsonb, ADD COLUMN address jsonb;
