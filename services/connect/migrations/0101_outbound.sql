-- Outbound webhooks, CRM write-back and their deliveries (DESIGN.md §7 Outbound).
CREATE TABLE webhook_endpoints (
    id                  uuid        PRIMARY KEY,
    url                 text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    -- CloudEvents types (weftwork.billing.invoice.issued.v1) or prefixes (weftwork.billing.*).
    event_types         text[]      NOT NULL,
    -- Empty: every legal entity.
    legal_entities      text[]      NOT NULL DEFAULT '{}',
    -- Fernet tokens (services/connect/secrets.py) of the whsec_ secret, and of the one it
    -- replaced while that still signs alongside (a rotation's grace period).
    secret              bytea       NOT NULL,
    previous_secret     bytea,
    previous_expires_at timestamptz,
    enabled             boolean     NOT NULL DEFAULT true,
    disabled_reason     text        NOT NULL DEFAULT '',
    -- Set by the first failed attempt after a success; the endpoint is disabled once it is
    -- older than the configured limit (days in production).
    failing_since       timestamptz,
    version             bigint      NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- CRM write-back per inbound source: the engagements whose opportunity came from `source`
-- get their status back on the deal (HUBSPOT) or Opportunity (SALESFORCE). Off unless a row
-- exists and is enabled.
CREATE TABLE crm_writebacks (
    id          uuid        PRIMARY KEY,
    source      text        NOT NULL UNIQUE,
    kind        text        NOT NULL CHECK (kind IN ('HUBSPOT', 'SALESFORCE')),
    base_url    text        NOT NULL,
    token       bytea       NOT NULL,
    -- Our field -> the CRM's property/field name (see domain/writeback.py for the defaults).
    fields      jsonb       NOT NULL DEFAULT '{}',
    api_version text        NOT NULL DEFAULT '',
    enabled     boolean     NOT NULL DEFAULT true,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- What connect knows of each engagement from the PROJECT, BILLING and REVENUE streams: the
-- legal entity endpoints filter on, and the status written back to the CRM.
CREATE TABLE engagement_status (
    engagement_id      text        PRIMARY KEY,
    legal_entity       text        NOT NULL DEFAULT '',
    code               text        NOT NULL DEFAULT '',
    status             text        NOT NULL DEFAULT '',
    crm_system         text        NOT NULL DEFAULT '',
    crm_record_id      text        NOT NULL DEFAULT '',
    currency           text        NOT NULL DEFAULT '',
    invoiced           numeric     NOT NULL DEFAULT 0,
    paid               numeric     NOT NULL DEFAULT 0,
    recognized         numeric     NOT NULL DEFAULT 0,
    recognized_version bigint      NOT NULL DEFAULT 0,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE delivery_seq;

-- One row per (target, event): a webhook endpoint's or a CRM write-back's. Sent at least
-- once, in event order per (target, order key) (the engagement, else the event's subject):
-- by the event's time, then by `seq`, the order connect fanned the events out in.
CREATE TABLE deliveries (
    id              uuid        PRIMARY KEY,
    seq             bigint      NOT NULL DEFAULT nextval('delivery_seq'),
    target_kind     text        NOT NULL CHECK (target_kind IN ('WEBHOOK', 'HUBSPOT', 'SALESFORCE')),
    -- webhook_endpoints.id or crm_writebacks.id.
    target_id       uuid        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    event_time      timestamptz NOT NULL,
    subject         text        NOT NULL,
    engagement_id   text        NOT NULL DEFAULT '',
    order_key       text        NOT NULL,
    -- WEBHOOK: the body sent; HUBSPOT/SALESFORCE: the record id and fields to write.
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'PENDING'
                                CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_status     integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The retry window runs from here; a replay starts it again.
    window_start    timestamptz NOT NULL DEFAULT now(),
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (target_id, event_id)
);

-- The worker's queue, and the "is an earlier one still pending?" check of ordered delivery.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, seq) WHERE status = 'PENDING';
CREATE INDEX deliveries_chain ON deliveries (target_id, order_key, event_time, seq)
    WHERE status = 'PENDING';
CREATE INDEX deliveries_listing ON deliveries (target_id, created_at DESC, id DESC);
CREATE INDEX deliveries_failed ON deliveries (target_id, created_at) WHERE status = 'FAILED';
