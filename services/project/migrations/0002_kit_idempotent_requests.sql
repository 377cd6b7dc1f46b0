-- Kept responses move to the kit's idempotent_requests (mesh/idempotency.py), which every
-- service shares; the method (the request's full name) and fingerprint are kept as they were.
INSERT INTO idempotent_requests (method, key, fingerprint, response, created_at)
SELECT method, key, fingerprint, response, created_at FROM kept_responses
ON CONFLICT (method, key) DO NOTHING;

DROP TABLE kept_responses;
