# check.jq: the invariants of a chaos run (tests/chaos/README.md), run by
# check.sh over the client log and the snapshots it took. Prints
# {"violations": [{"kind", ...evidence}], "figures": {...}}.
#
# A call is every attempt of one request (pm-chaos's "call" number): it is
# acknowledged when an attempt got a 2xx, "maybe" when none did and one got
# no answer, a 5xx or a 409 (the write may have happened), and refused
# otherwise (a 4xx the server decided: it did not happen).

def cls: if . == 0 then "none" else "\(. / 100 | floor)xx" end;
def minor: tostring | split(".") | (.[0] | tonumber) * 100 + (((.[1] // "") + "00")[0:2] | tonumber);
def sb_paid: . != null and (.state == "deposited" or .state == "refunded");
def v($kind; $o): {kind: $kind} + $o;
# A ledger entry that credits (coins or subscription time), or takes back.
def credit: (.coins_delta // 0) > 0 or (.time_delta_ms // 0) > 0;
def debit: (.coins_delta // 0) < 0 or (.time_delta_ms // 0) < 0;

($log[0]) as $L
| [$L[] | select(.target == "gw" and .replay_of == null)] as $G
# calls: attempts grouped
| ($G | group_by([.client, .call]) | map({
      client: .[0].client, call: .[0].call, flow: .[0].flow, family: .[0].family, op: .[0].op,
      method: .[0].method, path: .[0].path, key: .[0].idempotency_key, req: .[0].req,
      attempts: length,
      ack: (map(select(.status >= 200 and .status < 300)) | first),
      maybe: (map(select(.status == 0 or .status >= 500 or .status == 409)) | length > 0),
      last: .[-1]
  }) | map(. + {outcome: (if .ack != null then "ack" elif .maybe then "maybe" else "refused" end)})) as $calls
| [$calls[] | select(.method == "POST")] as $writes
| ($pays[0] | map({key: (.path | split("/")[4]), value: .}) | from_entries) as $PAY
| ($plist[0] | map(select(.id != null) | {key: .id, value: .}) | from_entries) as $PL
| ($cos[0] | map({key: (.path | split("/")[4]), value: .}) | from_entries) as $CO
| ($sbco[0] | map({key: (.path | split("/")[4]), value: .}) | from_entries) as $SBCO
| ($sbpu[0] | map({key: (.path | split("/")[4]), value: .}) | from_entries) as $SBPU
| ($sbor[0] | map(select(.status == 200) | {key: .body.order_id, value: .body}) | from_entries) as $SBOR
| ($orders[0] | map({key: .reg, value: .order}) | from_entries) as $ORD
| ($retry[0] | if type == "array" then . else (.items // []) end) as $RETRY
# --- core payments -------------------------------------------------------------
| [$writes[] | select(.family == "core")] as $cw
| ($cw | map(select(.op == "create" and .outcome == "ack")) | map({key: .ack.resp.transaction_id, value: .}) | from_entries) as $created
| ($cw | map(select(.op != "create")) | group_by(.path | split("/")[4])
   | map({key: (.[0].path | split("/")[4]), value: (sort_by(.call))}) | from_entries) as $later
| [ $created | to_entries[] | .key as $id | .value as $cr
    | ($cr.req.money_info.method_id | test("^(halk|tfeb)-card$")) as $bank
    | (reduce ($later[$id] // [])[] as $w ({st: ["created"], amt: [$cr.req.money_info.amount | minor]};
        ( if $w.op == "edit" then "created" elif $w.op == "cancel" then "cancelled"
          elif $bank then "bank_processing" else "accepted" end) as $r
        | if $w.outcome == "ack" then
            .st = [$r] | (if $w.op == "edit" then .amt = [$w.req.money_info.amount | minor] else . end)
          elif $w.outcome == "maybe" then
            .st += [$r] | (if $w.op == "edit" then .amt += [$w.req.money_info.amount | minor] else . end)
          else . end)) as $exp
    | ($exp.st + (if ($exp.st | index("bank_processing")) then ["succeeded", "failed"] else [] end)) as $allowed
    | $PAY[$id] as $p
    | if $p == null or $p.status != 200 then
        v("ack_missing"; {family: "core", payment: $id, got: ($p.status // null), call: {client: $cr.client, call: $cr.call}})
      else
        ($p.body.payment) as $pp
        | (if ($allowed | index($pp.status)) == null then
             v("state_differs"; {family: "core", payment: $id, status: $pp.status, allowed: $allowed, flow: $cr.flow})
           else empty end),
          (($PL[$id].amount_minor) as $am
           | if $am != null and ($exp.amt | index($am)) == null then
               v("amount_differs"; {family: "core", payment: $id, amount_minor: $am, allowed: $exp.amt, flow: $cr.flow})
             else empty end),
          (if $pp.bank.order_id != null then
             $SBOR[$pp.bank.order_id] as $o
             | (if ($pp.status == "succeeded") != ($o | sb_paid) then
                  v("paid_differs"; {family: "core", payment: $id, status: $pp.status, bank_state: $pp.bank.state,
                                     sandbox: ($o | if . then {order_id, state, deposits, deposit_calls} else null end), flow: $cr.flow})
                else empty end)
           else empty end),
          (if $pp.status == "bank_processing" and $drained == "yes" then
             v("bank_unsettled"; {family: "core", payment: $id, bank: $pp.bank, flow: $cr.flow})
           else empty end)
      end
  ] as $v_core
| ([$cw[] | select(.op == "create" and .outcome != "refused")] | length) as $creates_possible
| [ if ($PL | length) > $creates_possible then
      v("ghost_payments"; {stored: ($PL | length), acked_or_maybe_creates: $creates_possible})
    else empty end ] as $v_ghost
# --- bank orders: one paid order per payment or invoice ---------------------------------
| ([ $SBOR[] | select(sb_paid) | {base: (.order_number | sub("-[0-9]+$"; "")), order_id, order_number} ]
   | group_by(.base) | map(select(length > 1)) | map(v("paid_twice"; {ref: .[0].base, orders: .}))) as $v_twice
| [ $SBOR[] | select((.deposits // 0) > 1) | v("deposited_twice"; {order: .}) ] as $v_dep
# --- seed 004 invoices --------------------------------------------------------------
| [$writes[] | select(.family == "orders")] as $ow
| [ $ow[] | select(.op == "invoice" and .outcome == "ack") | .req.OInvRegNo as $reg | $ORD[$reg] as $o
    | if $o == null then v("ack_missing"; {family: "orders", reg_no: $reg})
      else
        ($o.order_id) as $oid | $SBOR[$oid // ""] as $so
        | (if ($o.state == "paid") != ($so | sb_paid) then
             v("paid_differs"; {family: "orders", reg_no: $reg, state: $o.state, bank_state: $o.bank_state,
                                sandbox: ($so | if . then {order_id, state, deposits} else null end)})
           else empty end)
      end ] as $v_inv
| [ $ow[] | select(.op == "register" and .outcome == "ack") | .req.OInvRegNo as $reg
    | if ($ORD[$reg].order_id // null) != .ack.resp.data.OrderId then
        v("order_differs"; {family: "orders", reg_no: $reg, acked_order: .ack.resp.data.OrderId, stored: ($ORD[$reg].order_id // null)})
      else empty end ] as $v_reg
| [ $ow[] | select(.op == "validate" and .outcome == "ack" and .ack.resp.status == 1) | .req.OInvRegNo as $reg
    | if ($ORD[$reg].state // null) != "paid" then
        v("ack_missing"; {family: "orders", what: "validated paid", reg_no: $reg, state: ($ORD[$reg].state // null)})
      else empty end ] as $v_val
# --- store purchases and the ledger ------------------------------------------------------
| ($bals[0] | map({key: .principal, value: .}) | from_entries) as $BAL
| [ $bals[0][] | . as $b
    | (if ([.ledger[].coins_delta // 0] | add // 0) != .coins then
         v("ledger_sum"; {principal: .principal, coins: .coins, sum: ([.ledger[].coins_delta // 0] | add // 0)})
       else empty end),
      (if (reduce .ledger[] as $e ({ok: true, c: 0};
             {ok: (.ok and ($e.coins_after == .c + ($e.coins_delta // 0))), c: (.c + ($e.coins_delta // 0))}) | .ok) | not then
         v("ledger_chain"; {principal: .principal})
       else empty end),
      (([.ledger[] | select(.subscription_until_ms != null)] | last | .subscription_until_ms) as $u
       | if $u != null and $u != $b.subscription_until_ms then
           v("subscription_differs"; {principal: $b.principal, balance_until_ms: $b.subscription_until_ms, last_entry_until_ms: $u})
         else empty end),
      (.ledger | map(select(credit)) | group_by(.purchase_serial) | map(select(length > 1))[]
       | v("credited_twice"; {principal: $b.principal, serial: .[0].purchase_serial, entries: length}))
  ] as $v_ledger
| ([ $bals[0][] | .principal as $p | .ledger[] | select(credit) | {key: .purchase_serial, value: $p} ] | from_entries) as $CREDITED
| ([ $bals[0][] | .ledger[] | select(debit) | {key: .purchase_serial, value: true} ] | from_entries) as $DEBITED
| [$writes[] | select(.family == "store" and (.op == "redeem" or .op == "redeem_again"))] as $rw
| ($rw | group_by(.req.ref_id) | map({key: .[0].req.ref_id, value: .}) | from_entries) as $BYTOKEN
| [ $BYTOKEN | to_entries[] | .key as $t | .value as $ws
    | ($ws | map(.req.serial_number) | unique | map(select($CREDITED[.] != null))) as $cs
    | (if ($cs | length) > 1 then v("token_credited_twice"; {token: $t, serials: $cs}) else empty end),
      ($ws[] | select(.outcome == "ack" and $CREDITED[.req.serial_number] == null)
       | v("ack_missing"; {family: "store", serial: .req.serial_number, token: $t, answer: .ack.resp})),
      ($ws | group_by(.req.serial_number)[] | select(all(.outcome == "refused") and $CREDITED[.[0].req.serial_number] != null)
       | v("credited_but_refused"; {serial: .[0].req.serial_number, token: $t, answers: map(.last.status)})),
      ($SBPU[$t].body as $sp
       | if ($cs | length) > 0 and ($sp.consumption_state // 1) != 0 then
           v("credited_not_consumed"; {token: $t, serials: $cs, sandbox: $sp})
         elif ($cs | length) == 0 and ($sp.consumption_state // 1) == 0 then
           v("consumed_not_credited"; {token: $t, sandbox: $sp})
         else empty end)
  ] as $v_store
# --- BazaarPay ----------------------------------------------------------------------
| [$writes[] | select(.family == "bazaarpay")] as $bw
| ($bw | map(select(.op == "refund" and .outcome != "refused")) | map({key: .req.checkout_token, value: true}) | from_entries) as $REFUND_ASKED
| [ $bw[] | select(.op == "checkout" and .outcome == "ack") | .ack.resp.checkout_token as $t
    | $CO[$t] as $c | $SBCO[$t].body as $s
    | if $c == null or $c.status != 200 then v("ack_missing"; {family: "bazaarpay", checkout: $t, got: ($c.status // null)})
      else
        $c.body as $pc
        | (if ($s.commits // 0) > 1 then v("committed_twice"; {checkout: $t, sandbox: $s}) else empty end),
          (if ($s.refunds // 0) > 1 then v("refunded_twice"; {checkout: $t, sandbox: $s}) else empty end),
          (if ($s.commits // 0) >= 1 and ($s.refunds // 0) >= 1 and ($REFUND_ASKED[$t] | not) then
             v("committed_and_refunded"; {checkout: $t, state: $pc.state, sandbox: $s}) else empty end),
          (if $pc.state == "committed" and (($s.commits // 0) != 1 or ($s.refunds // 0) != 0) then
             v("commit_differs"; {checkout: $t, state: $pc.state, sandbox: $s}) else empty end),
          (if ($s.commits // 0) == 1 and (["committed", "refunded"] | index($pc.state)) == null then
             v("commit_differs"; {checkout: $t, state: $pc.state, sandbox: $s}) else empty end),
          (if $pc.state == "refunded" and ($s.refunds // 0) != 1 then
             v("refund_differs"; {checkout: $t, state: $pc.state, sandbox: $s}) else empty end),
          (if ($s.refunds // 0) >= 1 and $pc.delivered_at != null and ($pc.reversed != true or ($DEBITED[$pc.serial_number] | not)) then
             v("refunded_not_reversed"; {checkout: $t, state: $pc.state, reversed: $pc.reversed, serial: $pc.serial_number, sandbox: $s}) else empty end),
          (if $pc.state == "delivered" and $drained == "yes" then
             v("left_neither"; {checkout: $t, sandbox: $s, attempts: ($pc.attempts[-3:])}) else empty end),
          (if (["in_progress", "expired"] | index($pc.state)) != null and ($s.status // "" | startswith("paid")) then
             v("provider_paid_not_paymesh"; {checkout: $t, state: $pc.state, sandbox: $s}) else empty end),
          (if $pc.delivered_at != null and ($CREDITED[$pc.serial_number] == null) then
             v("delivered_not_credited"; {checkout: $t, serial: $pc.serial_number}) else empty end),
          (if $pc.delivered_at == null and ($CREDITED[$pc.serial_number] != null) then
             v("credited_not_delivered"; {checkout: $t, serial: $pc.serial_number}) else empty end)
      end ] as $v_bp
| [ $bw[] | select(.op == "confirm" and .outcome == "ack" and .ack.status == 200) | .req.checkout_token as $t
    | if (["delivered", "committed", "refunded"] | index($CO[$t].body.state // "")) == null then
        v("ack_missing"; {family: "bazaarpay", what: "confirm delivered", checkout: $t, state: ($CO[$t].body.state // null)})
      else empty end ] as $v_conf
| [ $bw[] | select(.op == "refund" and .outcome == "ack" and .ack.status == 200) | .req.checkout_token as $t
    | if ($CO[$t].body.state // "") != "refunded" then
        v("ack_missing"; {family: "bazaarpay", what: "refund", checkout: $t, state: ($CO[$t].body.state // null)})
      else empty end ] as $v_ref
# --- idempotent replays -----------------------------------------------------------------
| ($L | map({key: "\(.client)/\(.seq)", value: .}) | from_entries) as $BYSEQ
| [ $L[] | select(.replay_of != null and .status != 0 and .status != 503 and .status != 409) ] as $replays
| [ $replays[] | . as $r | $BYSEQ["\(.client)/\(.replay_of)"] as $o
    | if $o.status != $r.status or $o.resp != $r.resp then
        v("replay_differs"; {family: .family, op: .op, path: .path, key: .idempotency_key,
                             first: {seq: $o.seq, status: $o.status, resp: $o.resp},
                             replay: {seq: $r.seq, status: $r.status, resp: $r.resp}})
      else empty end ] as $v_replay
# --- out ------------------------------------------------------------------------------
| ($v_core + $v_ghost + $v_twice + $v_dep + $v_inv + $v_reg + $v_val + $v_ledger + $v_store + $v_bp + $v_conf + $v_ref + $v_replay) as $V
| {
    violations: $V,
    figures: {
      requests: ($L | length),
      requests_gw: ([$L[] | select(.target == "gw")] | length),
      requests_sandbox: ([$L[] | select(.target == "sandbox")] | length),
      calls: ($calls | length),
      acked_writes: ([$writes[] | select(.outcome == "ack")] | length),
      maybe_writes: ([$writes[] | select(.outcome == "maybe")] | length),
      replays_compared: ($replays | length),
      by_op: ($L | group_by([.target, .family, .op]) | map({family: (.[0].family + (if .[0].target == "sandbox" then "@sandbox" else "" end)),
                op: .[0].op, classes: (group_by(.status | cls) | map({key: (.[0].status | cls), value: length}) | from_entries)})),
      kills: $kills,
      faults: (if ($faults.injected // null) != null then $faults.injected else $rules end),
      calls_seen: ($faults.calls_seen // null),
      entities: {payments: ($created | length), stored_payments: ($PL | length),
                 checkouts: ([$bw[] | select(.op == "checkout" and .outcome == "ack")] | length),
                 invoices: ([$ow[] | select(.op == "invoice" and .outcome == "ack")] | length),
                 redeemed: ([$rw[] | select(.outcome == "ack")] | length),
                 bank_orders_at_sandbox: ($SBOR | length),
                 parked_jobs: ([$RETRY[] | select(.state == "parked")] | length)},
      violations: ($V | group_by(.kind) | map({key: .[0].kind, value: length}) | from_entries)
    }
  }
