-- The engagement timeline's own home. Every event about an engagement gets a lineage row in the
-- transaction that writes its outbox row (mesh.events.outbox.add_events), so the outbox can
-- forget published events (a retention rule) without the timeline losing them.
CREATE TABLE lineage (
    event_id          uuid        PRIMARY KEY,  -- the CloudEvents id (ce-id)
    seq               bigint      NOT NULL,     -- the outbox row's seq: the order of writing
    engagement_id     text        NOT NULL,
    subject           text        NOT NULL,     -- ce-type
    source            text        NOT NULL,     -- ce-source, /weftwork/<service>
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    created_at        timestamptz NOT NULL
);

CREATE INDEX lineage_by_engagement ON lineage (engagement_id, seq);

-- Events written before this migration: their outbox rows are still all there.
INSERT INTO lineage
    (event_id, seq, engagement_id, subject, source, aggregate_id, aggregate_version, created_at)
SELECT id, seq, engagement_id, subject, coalesce(headers ->> 'ce-source', ''), aggregate_id,
       aggregate_version, created_at
  FROM outbox
 WHERE engagement_id IS NOT NULL;

-- Nothing reads the outbox by engagement any more.
DROP INDEX outbox_by_engagement;
