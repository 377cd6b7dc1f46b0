-- Idempotency keys move to the kit's idempotent_requests (mesh/idempotency.py), which every
-- service shares. Its method is the request's full name; the request hash was computed the
-- same way (SHA-256 of the request without its key), so kept answers stay valid.
INSERT INTO idempotent_requests (method, key, fingerprint, response, created_at)
SELECT 'weftwork.billing.v1.' || method, key, request_hash, response, created_at
  FROM idempotency_keys
ON CONFLICT (method, key) DO NOTHING;

DROP TABLE idempotency_keys;
