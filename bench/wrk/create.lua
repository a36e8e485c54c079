-- POST /api/v1/payment/create with a fresh idempotency token per request:
-- "<BENCH_TAG>-<thread>-<counter>", so every request is a new durable write.
-- BENCH_TOKEN: a user token whose principal is BENCH_SENDER.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local tag, sender, n, prefix, suffix, headers = nil, nil, 0, nil, nil, nil

function init(args)
   tag = os.getenv("BENCH_TAG") or "run"
   sender = os.getenv("BENCH_SENDER") or "alice"
   headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
   prefix = '{"idempotency_token":"' .. tag .. '-' .. tid .. '-'
   suffix = '","money_info":{"method_id":"card-1","currency":"USD","amount":"1.10"},' ..
            '"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"' .. sender .. '"}}'
end

function request()
   n = n + 1
   return wrk.format("POST", "/api/v1/payment/create", headers, prefix .. n .. suffix)
end
