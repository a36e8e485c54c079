-- pgbench script: one create as a PostgreSQL-backed service would run it, in
-- one transaction: insert the payment (random uuid) and its idempotency key
-- (random uuid token) under the unique constraint, storing the response.
\set amount random(1, 100000)
BEGIN;
WITH p AS (
    INSERT INTO payments (id, sender_id, sender_method, recipient_id, recipient_method,
                          currency, amount_minor, status, created_at, updated_at)
    VALUES (gen_random_uuid(), 'alice', NULL, 'bob', 'card-1', 'USD', :amount, 'created',
            now(), now())
    RETURNING id)
INSERT INTO idempotency_keys (principal, idem, payment_id, status, response, created_at)
SELECT 'alice', gen_random_uuid()::text, id, 200,
       '{"transaction_id":"' || id::text || '"}', now()
FROM p;
COMMIT;
