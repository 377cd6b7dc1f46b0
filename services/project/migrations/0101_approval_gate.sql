-- The approval gate (DESIGN.md §9): an engagement of an entity that requires commercial
-- approval waits PENDING_APPROVAL; engagement.activated goes out only on approval.
ALTER TABLE engagements DROP CONSTRAINT engagements_status_check;
ALTER TABLE engagements ADD CONSTRAINT engagements_status_check
    CHECK (status IN ('ACTIVE', 'COMPLETED', 'PENDING_APPROVAL'));

-- The customer as resolved at close-won, kept until approval sends it with
-- engagement.activated (billing needs country and tax id for VAT).
CREATE TABLE pending_activations (
    engagement_id uuid PRIMARY KEY REFERENCES engagements (id),
    customer_name text NOT NULL,
    country       text NOT NULL,
    tax_id        text NOT NULL,
    matched_by    text NOT NULL
);
