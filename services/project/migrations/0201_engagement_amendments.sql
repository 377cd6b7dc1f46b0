-- Amendments (DESIGN.md §9): an engagement's terms are versioned. `engagement_terms` keeps
-- every version (1 as won, then one per AmendEngagement); the engagements row holds the terms
-- in force. Rate cards are versioned too: time is rated with the card in effect on its date.
ALTER TABLE engagements ADD COLUMN terms_version integer NOT NULL DEFAULT 1;

ALTER TABLE rate_card_lines ADD COLUMN card_version integer NOT NULL DEFAULT 1;
ALTER TABLE rate_card_lines ADD COLUMN effective_date date;
UPDATE rate_card_lines r SET effective_date = e.start_date FROM engagements e
 WHERE e.id = r.engagement_id;
ALTER TABLE rate_card_lines ALTER COLUMN effective_date SET NOT NULL;
ALTER TABLE rate_card_lines ALTER COLUMN card_version DROP DEFAULT;
ALTER TABLE rate_card_lines DROP CONSTRAINT rate_card_lines_pkey;
ALTER TABLE rate_card_lines ADD PRIMARY KEY (engagement_id, card_version, role);

CREATE TABLE engagement_terms (
    engagement_id     uuid        NOT NULL REFERENCES engagements (id),
    version           integer     NOT NULL CHECK (version >= 1),
    effective_date    date        NOT NULL,
    reason            text        NOT NULL,
    -- The caller's subject (JWT sub) as the gateway passed it; empty when unknown.
    actor             text        NOT NULL,
    contract_value    numeric     NOT NULL CHECK (contract_value >= 0),
    budget_hours      numeric     NOT NULL CHECK (budget_hours >= 0),
    end_date          date        NOT NULL,
    rate_card_version integer     NOT NULL,
    -- The whole milestone plan of this version: [{id, name, amount, due_date, status}].
    milestones        jsonb       NOT NULL,
    created_at        timestamptz NOT NULL,
    PRIMARY KEY (engagement_id, version)
);

-- Version 1 of every engagement that exists: its terms as won (nothing was amended before).
INSERT INTO engagement_terms (engagement_id, version, effective_date, reason, actor,
                              contract_value, budget_hours, end_date, rate_card_version,
                              milestones, created_at)
SELECT e.id, 1, e.start_date, 'As won', '', e.contract_value, e.budget_hours, e.end_date, 1,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'id', m.id, 'name', m.name, 'amount', m.amount::text,
                     'due_date', m.due_date, 'status', m.status) ORDER BY m.due_date, m.name)
                   FROM milestones m WHERE m.engagement_id = e.id), '[]'::jsonb),
       e.created_at
  FROM engagements e;
