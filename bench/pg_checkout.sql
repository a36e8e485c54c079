-- pgbench script: one BazaarPay confirm as a PostgreSQL-backed service would
-- store it once the trace said paid_not_committed, in one transaction: the
-- user's balance credited (one of 1000 users, so that row locks seldom meet;
-- paymesh's runs credit one user), the checkout row (delivered, with the
-- balance after), a ledger row naming the checkout's serial, and the commit
-- queued with its due time. The HTTP calls to BazaarPay (trace, commit) are
-- not in it: the paymesh case makes both against the sandbox.
\set user random(1, 1000)
\set amount random(10000, 1000000)
BEGIN;
INSERT INTO balances AS b (principal, coins, updated_at) VALUES ('user' || :user, 100, now())
ON CONFLICT (principal) DO UPDATE SET coins = b.coins + 100, updated_at = now()
RETURNING coins \gset
INSERT INTO checkouts (token, serial, principal, sku, amount, state, coins_after, created_at, delivered_at)
VALUES (md5(random()::text || clock_timestamp()::text), (1e15 + floor(random() * 9e15))::bigint::text,
        'user' || :user, 'coins_100', :amount, 'delivered', :coins, now(), now())
RETURNING token, serial \gset
INSERT INTO ledger (principal, kind, coins_delta, coins_after, purchase_serial, at)
VALUES ('user' || :user, 'coin_credit', 100, :coins, :serial, now());
INSERT INTO commit_queue (token, kind, attempt, due_at) VALUES (:token, 'bazaarpay_commit', 0, now());
COMMIT;
