-- Idempotency keys of every service (mesh/idempotency.py): the first response to a request
-- with a key, kept under (method, key) with a SHA-256 of the request, in the same transaction
-- as the change. Numbered 0010 to leave 0003-0009 to the event tables' own migrations.
CREATE TABLE idempotent_requests (
    method      text        NOT NULL,  -- the request message's full name
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    response    bytea,                 -- set before the claiming transaction commits
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, key)
);
