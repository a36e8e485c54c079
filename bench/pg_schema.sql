-- The tables a PostgreSQL-backed payment service would write for one create
-- (bench/pg_create.sql): the payment row and its idempotency key, unique per
-- (principal, key), referencing the payment.
CREATE TABLE payments (
    id               uuid PRIMARY KEY,
    sender_id        text NOT NULL,
    sender_method    text,
    recipient_id     text NOT NULL,
    recipient_method text NOT NULL,
    currency         text NOT NULL,
    amount_minor     bigint NOT NULL,
    status           text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE TABLE idempotency_keys (
    principal    text NOT NULL,
    idem         text NOT NULL,
    payment_id   uuid NOT NULL REFERENCES payments (id),
    status       int NOT NULL,
    response     text NOT NULL,
    created_at   timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_unique UNIQUE (principal, idem)
);

-- The tables a PostgreSQL-backed service would write for one BazaarPay
-- confirm (bench/pg_checkout.sql): the checkout marked delivered, the user's
-- balance credited, a ledger row naming the checkout, and the commit queued
-- for a worker, all in the confirm's one transaction.
CREATE TABLE checkouts (
    token          text PRIMARY KEY,
    serial         text NOT NULL UNIQUE,
    principal      text NOT NULL,
    sku            text NOT NULL,
    amount         bigint NOT NULL,
    state          text NOT NULL,
    coins_after    bigint,
    created_at     timestamptz NOT NULL,
    delivered_at   timestamptz
);
CREATE TABLE balances (
    principal  text PRIMARY KEY,
    coins      bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE ledger (
    seq             bigserial PRIMARY KEY,
    principal       text NOT NULL,
    kind            text NOT NULL,
    coins_delta     bigint NOT NULL,
    coins_after     bigint NOT NULL,
    purchase_serial text NOT NULL,
    at              timestamptz NOT NULL
);
CREATE TABLE commit_queue (
    id         bigserial PRIMARY KEY,
    token      text NOT NULL REFERENCES checkouts (token),
    kind       text NOT NULL,
    attempt    int NOT NULL,
    due_at     timestamptz NOT NULL
);
CREATE INDEX commit_queue_due ON commit_queue (due_at);

-- The tables a PostgreSQL-backed service would write for one seed 004
-- order validation once the bank said paid (bench/pg_order.sql): the
-- invoice, awaiting payment with its bank order, marked paid, and a
-- ledger-like row naming it, in one transaction. scripts/bench.sh fills
-- invoices with awaiting ones before the case's runs; each transaction takes
-- the next one (invoice_pick), so that none is paid twice.
CREATE TABLE invoices (
    reg_no       text PRIMARY KEY,
    order_id     text NOT NULL UNIQUE,
    principal    text NOT NULL,
    bank         text NOT NULL,
    total_minor  bigint NOT NULL,
    state        text NOT NULL,
    bank_state   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    paid_at      timestamptz
);
CREATE SEQUENCE invoice_pick;
CREATE TABLE order_ledger (
    seq          bigserial PRIMARY KEY,
    principal    text NOT NULL,
    kind         text NOT NULL,
    reg_no       text NOT NULL REFERENCES invoices (reg_no),
    order_id     text NOT NULL,
    amount_minor bigint NOT NULL,
    at           timestamptz NOT NULL
);
