#!/usr/bin/env bash
# Status transitions (docs/api.md "Statuses"), enforced in payment-core:
# accept only from created; cancel and edit refused in final states; an edit
# of an accepted payment returns it to created.
. "$(dirname "$0")/lib.sh"

pm_start_core
pm_methods bob
pm_start_gateway
alice=$(pm_token alice)
bob=$(pm_token bob)
svc=$(pm_token ops service)

accept() { http POST "/api/v1/payment/$1/accept" -t "${2:-$bob}" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"; }
cancel() { http POST "/api/v1/payment/$1/cancel" -t "${2:-$alice}" -d "{\"idempotency_token\":\"$(pm_uuid)\"}"; }
edit() {
    http POST "/api/v1/payment/$1/edit" -t "${2:-$alice}" \
        -d "{\"idempotency_token\":\"$(pm_uuid)\",\"money_info\":{\"currency\":\"USD\",\"amount\":\"${3:-9.99}\"}}"
}
status_is() {
    http GET "/api/v1/payment/$1/retrieve/status" -t "$alice"
    expect_json .payment_status "$2" "$3"
}

# created -> accepted -> accept again: refused.
pm_create "$alice" alice bob
p=$TXID
accept "$p"
expect_status 200 "accept from created"
accept "$p"
expect_error 400 validation_error "accept from accepted: 400" accepted
status_is "$p" accepted "still accepted"

# accepted -> edit -> created -> edit (created) -> accept.
edit "$p" "$alice" 5.00
expect_json .payment_status created "edit of accepted returns to created"
edit "$p" "$alice" 6.00
expect_status 200 "edit of created"
expect_json .payment_status created "edit of created stays created"
accept "$p"
expect_status 200 "accept after edit"

# accepted -> cancelled; then everything is refused.
cancel "$p"
expect_status 200 "cancel from accepted"
cancel "$p"
expect_error 400 validation_error "cancel of cancelled: 400" cancelled
edit "$p"
expect_error 400 validation_error "edit of cancelled: 400" cancelled
accept "$p"
expect_error 400 validation_error "accept of cancelled: 400" cancelled
cancel "$p" "$svc"
expect_error 400 validation_error "service cancel of cancelled: 400" cancelled
edit "$p" "$svc"
expect_error 400 validation_error "service edit of cancelled: 400" cancelled
accept "$p" "$svc"
expect_error 400 validation_error "service accept of cancelled: 400" cancelled
status_is "$p" cancelled "still cancelled"
http GET "/api/v1/payment/$p/retrieve" -t "$alice"
expect_body_match '"amount": *6\.00[,} ]' "refused edit left the amount"

# created -> cancelled directly.
pm_create "$alice" alice bob
cancel "$TXID"
expect_status 200 "cancel from created"
accept "$TXID"
expect_error 400 validation_error "accept after cancel from created: 400"

# The wrong party on a final payment: still 403 (party check) or 400; never 200.
cancel "$p" "$bob"
expect_status '40[03]' "recipient cancels a cancelled payment: refused"

# updated_at moves, created_at does not (10 ms apart; the times have ms).
pm_create "$alice" alice bob
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
c0=$(jq -r .payment.created_at "$PM_TMP/resp.body")
u0=$(jq -r .payment.updated_at "$PM_TMP/resp.body")
sleep 0.01
accept "$TXID"
http GET "/api/v1/payment/$TXID/retrieve" -t "$alice"
expect_json .payment.created_at "$c0" "created_at unchanged by accept"
u1=$(jq -r .payment.updated_at "$PM_TMP/resp.body")
[[ $u1 > $u0 ]]
check $? "updated_at advanced by accept" "updated_at $u0 then $u1"

# accept_info up to 4 KiB is accepted and stored with the acceptance.
pm_create "$alice" alice bob
info=$(printf '{"idempotency_token":"%s","accept_info":{"n":"%s"}}' "$(pm_uuid)" "$(head -c 4000 /dev/zero | tr '\0' a)")
http POST "/api/v1/payment/$TXID/accept" -t "$bob" -d "$info"
expect_status 200 "accept with a 4008-byte accept_info"
