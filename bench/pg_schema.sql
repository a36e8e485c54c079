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
