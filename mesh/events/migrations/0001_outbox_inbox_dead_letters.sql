-- The kit's reliability tables, created in every service database before the service's own.

-- Events written in the same transaction as the state change they describe; a relay publishes
-- them to JetStream and marks them. id is the CloudEvents id (and Nats-Msg-Id).
CREATE TABLE outbox (
    id                uuid        PRIMARY KEY,
    seq               bigserial   NOT NULL,
    subject           text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    payload           bytea       NOT NULL,
    headers           jsonb       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz,
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text
);

-- The relay only ever reads the unpublished tail, in commit-ish order; keeps that scan small
-- however many published rows accumulate.
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
-- Pruning published rows by age.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Events a consumer has applied; the primary key is what makes a redelivery a no-op.
CREATE TABLE inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer gave up on (poison, or failing on the last allowed delivery), kept with
-- everything needed to replay them once the cause is fixed.
CREATE TABLE dead_letters (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    consumer    text        NOT NULL,
    stream      text        NOT NULL,
    stream_seq  bigint,
    subject     text        NOT NULL,
    event_id    uuid,                    -- null only when the message carried no usable ce-id
    headers     jsonb       NOT NULL,
    payload     bytea       NOT NULL,
    error       text        NOT NULL,
    deliveries  integer     NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'replay_requested', 'replayed', 'discarded')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);

-- One open dead letter per event and consumer: a message dead-lettered again (its ack was lost,
-- or it was published twice) does not pile up copies.
CREATE UNIQUE INDEX dead_letters_open_event
    ON dead_letters (consumer, event_id)
    WHERE status IN ('pending', 'replay_requested');
CREATE INDEX dead_letters_by_status ON dead_letters (status, consumer, created_at);
