-- pgbench script: one seed 004 order validation as a PostgreSQL-backed
-- service would store it once the bank's status said paid, in one
-- transaction: the invoice (awaiting payment, registered with the bank)
-- marked paid only if it still awaits payment, and a ledger-like row naming
-- the invoice and its bank order. Each transaction takes the next invoice
-- of those scripts/bench.sh filled (invoice_pick), so none is paid twice.
-- The status call to the bank is not in it: the paymesh case makes it
-- against the sandbox (provider-bank, HTTP).
BEGIN;
SELECT nextval('invoice_pick') AS n \gset
UPDATE invoices SET state = 'paid', bank_state = 'paid', paid_at = now(), updated_at = now()
WHERE reg_no = 'B' || lpad(:n::text, 12, '0') AND state = 'awaiting_payment'
RETURNING reg_no, order_id, principal, total_minor \gset
INSERT INTO order_ledger (principal, kind, reg_no, order_id, amount_minor, at)
VALUES (:principal, 'order_paid', :reg_no, :order_id, :total_minor, now());
COMMIT;
