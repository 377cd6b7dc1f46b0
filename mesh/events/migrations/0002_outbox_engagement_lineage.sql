-- The engagement an event belongs to (its `engagement_id` field), so every service can answer
-- "which events touched engagement X" (the gateway's timeline) from the events it produced.
ALTER TABLE outbox ADD COLUMN engagement_id text;

CREATE INDEX outbox_by_engagement ON outbox (engagement_id, created_at, seq)
    WHERE engagement_id IS NOT NULL;
