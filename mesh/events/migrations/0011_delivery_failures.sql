-- How often a consumer's handler itself failed on a message (keyed by the stream sequence).
-- JetStream's num_delivered also counts redeliveries caused by an outage, which must never
-- bring a message closer to the dead-letter table.
CREATE TABLE IF NOT EXISTS delivery_failures (
    consumer text NOT NULL,
    stream_sequence bigint NOT NULL,
    failures integer NOT NULL,
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, stream_sequence)
);
