-- The audit trail (DESIGN.md §9): one row per mutation, append-only. Written by the kit in the
-- transaction of the change (mesh.audit): a gRPC call's transaction that wrote anything, and
-- each event a consumer applied.
CREATE TABLE audit_log (
    seq            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor          text        NOT NULL,  -- JWT sub, or service:<name>
    on_behalf_of   text,                  -- event-driven: the causing event's actor
    operation      text        NOT NULL,  -- gRPC method, or the applied event's type
    targets        text[]      NOT NULL DEFAULT '{}',
    engagement_ids text[]      NOT NULL DEFAULT '{}',
    request_id     text,
    event_id       uuid                   -- event-driven: the applied event
);

CREATE INDEX audit_log_by_time ON audit_log (at, seq);
CREATE INDEX audit_log_by_engagement ON audit_log USING gin (engagement_ids);

-- Append-only, twice over. The role that runs the migrations (the service's own, which owns
-- the table) gives up UPDATE, DELETE and TRUNCATE on it; and a trigger refuses them for
-- anyone, owners and superusers included, even with session_replication_role = replica.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;

-- The timeline names who did each step (the event's ce-actor, and for event-driven effects
-- the actor they were on behalf of).
ALTER TABLE lineage ADD COLUMN actor text, ADD COLUMN on_behalf_of text;
