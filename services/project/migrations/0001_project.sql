-- Engagements (one per won opportunity), their rate cards, milestones and staffing; people;
-- time entries and expenses; what the CUSTOMER stream told us about merges; kept responses.
CREATE TABLE engagements (
    id                     uuid        PRIMARY KEY,
    code                   text        NOT NULL UNIQUE,
    name                   text        NOT NULL,
    status                 text        NOT NULL CHECK (status IN ('ACTIVE', 'COMPLETED')),
    legal_entity           text        NOT NULL,
    currency               char(3)     NOT NULL,
    billing_model          text        NOT NULL
        CHECK (billing_model IN ('TIME_AND_MATERIALS', 'FIXED_FEE', 'MILESTONE')),
    opportunity_system     text        NOT NULL,
    opportunity_id         text        NOT NULL,
    customer_id            uuid        NOT NULL,
    customer_matched_by    text        NOT NULL,
    contract_value         numeric     NOT NULL CHECK (contract_value >= 0),
    start_date             date        NOT NULL,
    end_date               date        NOT NULL,
    budget_hours           numeric     NOT NULL CHECK (budget_hours >= 0),
    approved_hours         numeric     NOT NULL DEFAULT 0,
    payment_terms_days     integer     NOT NULL,
    expense_markup_percent numeric     NOT NULL,
    completed_on           date,
    version                bigint      NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    -- The natural key: a retried or duplicated close-won finds it taken (INSERT … ON CONFLICT).
    UNIQUE (opportunity_system, opportunity_id),
    CHECK (end_date >= start_date),
    CHECK ((status = 'COMPLETED') = (completed_on IS NOT NULL))
);

CREATE INDEX engagements_listing ON engagements (start_date DESC, code);
CREATE INDEX engagements_by_customer ON engagements (customer_id);

-- PRJ-<entity>-<yyyy>-<nnnn>: the row is locked by the transaction that takes a number.
CREATE TABLE engagement_numbers (
    legal_entity text    NOT NULL,
    year         integer NOT NULL,
    last_number  integer NOT NULL,
    PRIMARY KEY (legal_entity, year)
);

CREATE TABLE rate_card_lines (
    engagement_id uuid    NOT NULL REFERENCES engagements (id),
    position      integer NOT NULL,
    role          text    NOT NULL,
    bill_rate     numeric NOT NULL CHECK (bill_rate >= 0),
    cost_rate     numeric NOT NULL CHECK (cost_rate >= 0),
    PRIMARY KEY (engagement_id, role)
);

CREATE TABLE milestones (
    id            uuid    PRIMARY KEY,
    engagement_id uuid    NOT NULL REFERENCES engagements (id),
    name          text    NOT NULL,
    amount        numeric NOT NULL CHECK (amount > 0),
    due_date      date    NOT NULL,
    status        text    NOT NULL CHECK (status IN ('PLANNED', 'COMPLETED')),
    completed_on  date,
    CHECK ((status = 'COMPLETED') = (completed_on IS NOT NULL))
);

CREATE INDEX milestones_by_engagement ON milestones (engagement_id, due_date);

CREATE TABLE people (
    id                    text        PRIMARY KEY,
    name                  text        NOT NULL,
    home_entity           text        NOT NULL,
    weekly_capacity_hours numeric     NOT NULL CHECK (weekly_capacity_hours BETWEEN 0 AND 168),
    version               bigint      NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

CREATE INDEX people_by_name ON people (name, id);

CREATE TABLE assignments (
    engagement_id uuid        NOT NULL REFERENCES engagements (id),
    person_id     text        NOT NULL REFERENCES people (id),
    role          text        NOT NULL,
    planned_hours numeric     NOT NULL CHECK (planned_hours >= 0),
    assigned_at   timestamptz NOT NULL,
    PRIMARY KEY (engagement_id, person_id, role)
);

CREATE TABLE time_entries (
    id               uuid        PRIMARY KEY,
    engagement_id    uuid        NOT NULL REFERENCES engagements (id),
    person_id        text        NOT NULL REFERENCES people (id),
    role             text        NOT NULL,
    service_date     date        NOT NULL,
    hours            numeric     NOT NULL CHECK (hours > 0 AND hours <= 24),
    billable         boolean     NOT NULL,
    status           text        NOT NULL CHECK (status IN ('SUBMITTED', 'APPROVED', 'REJECTED')),
    description      text        NOT NULL,
    -- The PSA's id; NULLs are distinct, so only entries that carry one are deduplicated.
    external_id      text,
    bill_rate        numeric,
    cost_rate        numeric,
    bill_amount      numeric,
    cost_amount      numeric,
    rejection_reason text,
    submitted_at     timestamptz NOT NULL,
    decided_at       timestamptz,
    UNIQUE (engagement_id, external_id),
    CHECK ((status = 'APPROVED') = (bill_amount IS NOT NULL AND cost_amount IS NOT NULL))
);

-- The 24-hour day and utilization read live time per person and day.
CREATE INDEX time_entries_by_person_day ON time_entries (person_id, service_date)
    INCLUDE (hours) WHERE status <> 'REJECTED';
CREATE INDEX time_entries_listing ON time_entries (engagement_id, service_date, person_id, id);

CREATE TABLE expenses (
    id              uuid        PRIMARY KEY,
    engagement_id   uuid        NOT NULL REFERENCES engagements (id),
    person_id       text        NOT NULL REFERENCES people (id),
    service_date    date        NOT NULL,
    amount          numeric     NOT NULL CHECK (amount > 0),
    category        text        NOT NULL,
    billable        boolean     NOT NULL,
    status          text        NOT NULL CHECK (status IN ('SUBMITTED', 'APPROVED')),
    description     text        NOT NULL,
    external_id     text,
    markup_percent  numeric,
    billable_amount numeric,
    submitted_at    timestamptz NOT NULL,
    approved_at     timestamptz,
    UNIQUE (engagement_id, external_id),
    CHECK ((status = 'APPROVED') = (billable_amount IS NOT NULL))
);

CREATE INDEX expenses_listing ON expenses (engagement_id, service_date, id);

-- customer.merged, remembered: a merged id always points straight at its final survivor.
CREATE TABLE customer_aliases (
    merged_id   uuid        PRIMARY KEY,
    survivor_id uuid        NOT NULL,
    merged_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX customer_aliases_by_survivor ON customer_aliases (survivor_id);

-- The first response to a request with an idempotency key, replayed for its retries.
CREATE TABLE kept_responses (
    method      text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    response    bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, key)
);
