-- Order per (target, engagement) across a crash (DESIGN.md §7 Outbound): each delivery made
-- from an event remembers the stream and the place in it the event came from. The delivery
-- worker sends it only once connect's consumer of that stream has acknowledged every event
-- up to that place (JetStream's ack floor): an earlier event a killed consumer left
-- unacknowledged comes back after ack_wait, and what came after it waits for it.
-- NULL: not gated (a delivery made before this migration, or from a replayed dead letter).
ALTER TABLE deliveries ADD COLUMN stream text, ADD COLUMN stream_seq bigint;
DROP INDEX deliveries_chain;
CREATE INDEX deliveries_chain ON deliveries (target_id, order_key, event_time, stream_seq, seq)
    WHERE status = 'PENDING';
