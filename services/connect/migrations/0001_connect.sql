-- Inbound sources, the receipts they send, and integration exceptions (DESIGN.md §7).
CREATE TABLE inbound_sources (
    name         text        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('HUBSPOT', 'SALESFORCE', 'STANDARD_WEBHOOKS')),
    mapping      text        NOT NULL,
    org_ids      text[]      NOT NULL DEFAULT '{}',
    -- Fernet tokens (services/connect/secrets.py): never stored in the clear.
    secret       bytea,
    api_token    bytea,
    api_base_url text        NOT NULL DEFAULT '',
    public_url   text        NOT NULL DEFAULT '',
    enabled      boolean     NOT NULL DEFAULT true,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE receipts (
    id                  uuid        PRIMARY KEY,
    source              text        NOT NULL REFERENCES inbound_sources (name),
    event_id            text        NOT NULL,
    external_id         text        NOT NULL DEFAULT '',
    payload             jsonb       NOT NULL,
    status              text        NOT NULL DEFAULT 'PENDING'
                                    CHECK (status IN ('PENDING', 'PROCESSED', 'SKIPPED', 'EXCEPTION')),
    attempts            integer     NOT NULL DEFAULT 0,
    last_error          text        NOT NULL DEFAULT '',
    engagement_id       text        NOT NULL DEFAULT '',
    customer_matched_by text        NOT NULL DEFAULT '',
    exception_id        uuid,
    received_at         timestamptz NOT NULL DEFAULT now(),
    processed_at        timestamptz,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    -- Dedup: a sender's retry of an event we hold is acknowledged and stored nowhere.
    UNIQUE (source, event_id)
);

-- The worker's queue: due PENDING receipts, oldest first.
CREATE INDEX receipts_due ON receipts (next_attempt_at, received_at) WHERE status = 'PENDING';
CREATE INDEX receipts_listing ON receipts (received_at DESC, id DESC);
CREATE INDEX receipts_by_source ON receipts (source, received_at DESC, id DESC);

CREATE TABLE integration_exceptions (
    id             uuid        PRIMARY KEY,
    source         text        NOT NULL REFERENCES inbound_sources (name),
    receipt_id     uuid        NOT NULL UNIQUE REFERENCES receipts (id),
    external_id    text        NOT NULL DEFAULT '',
    reason         text        NOT NULL,
    payload        jsonb       NOT NULL,
    status         text        NOT NULL DEFAULT 'OPEN'
                               CHECK (status IN ('OPEN', 'RETRIED', 'DISMISSED', 'RESOLVED')),
    dismiss_reason text        NOT NULL DEFAULT '',
    engagement_id  text        NOT NULL DEFAULT '',
    retries        integer     NOT NULL DEFAULT 0,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE receipts ADD FOREIGN KEY (exception_id) REFERENCES integration_exceptions (id)
    DEFERRABLE INITIALLY DEFERRED;

CREATE INDEX exceptions_listing ON integration_exceptions (created_at DESC, id DESC);
CREATE INDEX exceptions_by_status ON integration_exceptions (status, created_at DESC, id DESC);
