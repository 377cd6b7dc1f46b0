-- Revenue: one contract per engagement, a double-entry journal per legal entity, periods.

-- One row per legal entity: what postings lock (FOR SHARE) and closing locks (FOR UPDATE).
CREATE TABLE ledgers (
    legal_entity   text PRIMARY KEY,
    -- Periods close in order: every period up to this one ("YYYY-MM") is locked.
    closed_through text CHECK (closed_through ~ '^\d{4}-\d{2}$')
);

CREATE TABLE contracts (
    engagement_id          uuid        PRIMARY KEY,
    code                   text        NOT NULL,
    name                   text        NOT NULL,
    legal_entity           text        NOT NULL REFERENCES ledgers,
    currency               char(3)     NOT NULL,
    billing_model          text        NOT NULL,
    customer_id            text        NOT NULL,
    customer_name          text        NOT NULL,
    contract_value         numeric     NOT NULL,
    budget_hours           numeric     NOT NULL,
    expense_markup_percent numeric     NOT NULL,
    signed_on              date        NOT NULL,
    approved_hours         numeric     NOT NULL,
    completed_on           date,
    recognized             numeric     NOT NULL,
    recognized_fee         numeric     NOT NULL,
    billed                 numeric     NOT NULL,
    cost                   numeric     NOT NULL,
    unbilled_receivable    numeric     NOT NULL CHECK (unbilled_receivable >= 0),
    deferred_revenue       numeric     NOT NULL CHECK (deferred_revenue >= 0),
    version                bigint      NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL,
    CHECK (unbilled_receivable = 0 OR deferred_revenue = 0)
);

CREATE INDEX contracts_by_entity ON contracts (legal_entity, signed_on);

-- The business keys applied to each contract (a time entry, an expense, an invoice, ...):
-- handlers are idempotent by them, beyond the inbox. Keeps each one's cost by service date.
CREATE TABLE applied_facts (
    engagement_id uuid    NOT NULL REFERENCES contracts,
    key           text    NOT NULL,
    service_date  date    NOT NULL,
    cost          numeric NOT NULL,
    PRIMARY KEY (engagement_id, key)
);

CREATE INDEX applied_facts_costs ON applied_facts (service_date, engagement_id) WHERE cost <> 0;

-- Periods that have postings (OPEN) or were closed.
CREATE TABLE periods (
    legal_entity text        NOT NULL REFERENCES ledgers,
    period       text        NOT NULL CHECK (period ~ '^\d{4}-\d{2}$'),
    status       text        NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    closed_at    timestamptz,
    version      bigint      NOT NULL,
    PRIMARY KEY (legal_entity, period)
);

CREATE INDEX periods_open ON periods (legal_entity, period) WHERE status = 'OPEN';

CREATE TABLE journal_entries (
    id              uuid        PRIMARY KEY,
    -- Posting order.
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    legal_entity    text        NOT NULL,
    engagement_id   uuid        NOT NULL REFERENCES contracts,
    kind            text        NOT NULL,
    basis           text,
    description     text        NOT NULL,
    service_date    date        NOT NULL,
    posting_date    date        NOT NULL,
    period          text        NOT NULL,
    currency        char(3)     NOT NULL,
    source_event_id uuid,
    source_ids      text[]      NOT NULL,
    created_at      timestamptz NOT NULL,
    CHECK (period = to_char(posting_date, 'YYYY-MM'))
);

CREATE INDEX journal_by_engagement ON journal_entries (engagement_id, seq);
CREATE INDEX journal_by_period ON journal_entries (legal_entity, period, seq);
CREATE INDEX journal_by_posting_date ON journal_entries (legal_entity, posting_date);

-- Accounts as names (codes are configuration, applied when read).
CREATE TABLE journal_lines (
    entry_id uuid     NOT NULL REFERENCES journal_entries,
    line_no  smallint NOT NULL,
    account  text     NOT NULL,
    debit    numeric  NOT NULL CHECK (debit >= 0),
    credit   numeric  NOT NULL CHECK (credit >= 0),
    CHECK ((debit = 0) <> (credit = 0)),
    PRIMARY KEY (entry_id, line_no)
);

-- Events that came before their engagement's activation; applied when it arrives.
CREATE TABLE parked_events (
    event_id      uuid        PRIMARY KEY,
    seq           bigint      GENERATED ALWAYS AS IDENTITY,
    engagement_id uuid        NOT NULL,
    subject       text        NOT NULL,
    payload       bytea       NOT NULL,
    parked_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX parked_by_engagement ON parked_events (engagement_id, seq);
