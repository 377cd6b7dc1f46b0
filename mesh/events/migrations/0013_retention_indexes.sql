-- Retention (mesh/retention.py) deletes inbox rows and idempotency keys by age, a batch at a
-- time; these keep each batch's search an index range scan however large the tables are.
-- Published outbox rows already have theirs (outbox_published_at, migration 0001).
CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at);
CREATE INDEX IF NOT EXISTS idempotent_requests_created_at ON idempotent_requests (created_at);
