-- Billing: its replica of engagements and customers, billable items, invoices, payments and
-- the gapless number sequences. The replica is built from PROJECT and CUSTOMER events only.

-- The billing profile of each engagement billing has seen activated.
CREATE TABLE engagements (
    id                     uuid        PRIMARY KEY,
    code                   text        NOT NULL,
    name                   text        NOT NULL,
    legal_entity           text        NOT NULL,
    currency               text        NOT NULL,
    billing_model          text        NOT NULL
                           CHECK (billing_model IN ('TIME_AND_MATERIALS', 'FIXED_FEE', 'MILESTONE')),
    -- Follows customer.merged to the survivor.
    customer_id            uuid        NOT NULL,
    payment_terms_days     integer     NOT NULL CHECK (payment_terms_days >= 0),
    expense_markup_percent numeric     NOT NULL CHECK (expense_markup_percent >= 0),
    -- The billing schedule as activated: [{id, name, amount, due_date}], for the record.
    milestones             jsonb       NOT NULL DEFAULT '[]',
    -- The engagement's version in the project service: an older event never overwrites.
    version                bigint      NOT NULL,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX engagements_by_entity ON engagements (legal_entity, id);
CREATE INDEX engagements_by_customer ON engagements (customer_id);

-- What invoices need of a customer. Seeded from engagement.activated's snapshot (version 0),
-- so that any event of the CUSTOMER stream (version >= 1) wins over it.
CREATE TABLE customers (
    id      uuid   PRIMARY KEY,
    name    text   NOT NULL,
    country text   NOT NULL,
    tax_id  text,
    version bigint NOT NULL
);

-- A merged customer id and its survivor; always one hop (later merges re-point).
CREATE TABLE customer_aliases (
    merged_id   uuid PRIMARY KEY,
    survivor_id uuid NOT NULL CHECK (survivor_id <> merged_id)
);

-- Approved billable time, billable expenses (marked up) and completed milestones. The source
-- key makes a redelivered or re-published event create nothing twice.
CREATE TABLE billable_items (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    engagement_id uuid        NOT NULL REFERENCES engagements (id),
    kind          text        NOT NULL CHECK (kind IN ('TIME', 'EXPENSE', 'MILESTONE')),
    source_id     text        NOT NULL,
    service_date  date        NOT NULL,
    description   text        NOT NULL,
    quantity      numeric     NOT NULL CHECK (quantity > 0),
    unit_price    numeric     NOT NULL,
    amount        numeric     NOT NULL,
    currency      text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, source_id)
);

CREATE INDEX billable_items_by_engagement ON billable_items (engagement_id, service_date);

CREATE TABLE invoices (
    id                 uuid        PRIMARY KEY,
    engagement_id      uuid        NOT NULL REFERENCES engagements (id),
    customer_id        uuid        NOT NULL,
    legal_entity       text        NOT NULL,
    currency           text        NOT NULL,
    status             text        NOT NULL
                       CHECK (status IN ('DRAFT', 'ISSUED', 'PARTIALLY_PAID', 'PAID', 'VOID')),
    number             text        UNIQUE,
    issue_date         date,
    due_date           date,
    -- When the number was allocated: issue order, for the record and the numbering tests.
    issued_at          timestamptz,
    -- The customer's country the tax was decided on.
    customer_country   text,
    subtotal           numeric     NOT NULL DEFAULT 0,
    tax                numeric     NOT NULL DEFAULT 0,
    tax_rate           numeric     NOT NULL DEFAULT 0,
    tax_note           text        NOT NULL DEFAULT '',
    total              numeric     NOT NULL DEFAULT 0,
    amount_paid        numeric     NOT NULL DEFAULT 0,
    credit_note_number text        UNIQUE,
    void_reason        text,
    voided_on          date,
    version            bigint      NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- Listing order: drafts first, then newest issue date.
    list_date          date        GENERATED ALWAYS AS (coalesce(issue_date, DATE '9999-12-31')) STORED,
    CHECK (status = 'DRAFT' OR status = 'VOID' OR number IS NOT NULL),
    CHECK (amount_paid >= 0 AND amount_paid <= total)
);

-- One draft per engagement, whatever the code does.
CREATE UNIQUE INDEX invoices_one_draft_per_engagement ON invoices (engagement_id)
    WHERE status = 'DRAFT';
CREATE INDEX invoices_listing ON invoices (list_date DESC, id DESC);
CREATE INDEX invoices_by_engagement ON invoices (engagement_id, list_date DESC, id DESC);
CREATE INDEX invoices_by_entity ON invoices (legal_entity, list_date DESC, id DESC);
CREATE INDEX invoices_receivable ON invoices (legal_entity, issue_date) WHERE number IS NOT NULL;

-- The lines of an invoice: one billable item each. A voided invoice keeps its lines, no
-- longer live, for the record.
CREATE TABLE invoice_items (
    invoice_id uuid    NOT NULL REFERENCES invoices (id),
    item_id    uuid    NOT NULL REFERENCES billable_items (id),
    live       boolean NOT NULL DEFAULT true,
    PRIMARY KEY (invoice_id, item_id)
);

-- An item is on at most one live invoice: enforced here, not only by the billing run.
CREATE UNIQUE INDEX invoice_items_one_live_invoice ON invoice_items (item_id) WHERE live;

CREATE TABLE payments (
    id          uuid        PRIMARY KEY,
    invoice_id  uuid        NOT NULL REFERENCES invoices (id),
    amount      numeric     NOT NULL CHECK (amount > 0),
    currency    text        NOT NULL,
    received_on date        NOT NULL,
    reference   text        NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (invoice_id, reference)
);

-- Gapless numbers: one counter row per entity, kind and year, incremented in the transaction
-- that uses the number, so a rolled-back issue leaves no gap and concurrent issuers queue on
-- the row.
CREATE TABLE number_sequences (
    legal_entity text    NOT NULL,
    kind         text    NOT NULL CHECK (kind IN ('INVOICE', 'CREDIT_NOTE')),
    year         integer NOT NULL,
    last_value   bigint  NOT NULL,
    PRIMARY KEY (legal_entity, kind, year)
);

-- Money-moving writes with a client idempotency key: the first response, kept with a hash of
-- the request so a reused key with another request is refused.
CREATE TABLE idempotency_keys (
    method       text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, key)
);
