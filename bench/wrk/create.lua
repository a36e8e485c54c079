-- POST /api/v1/payment/create with a fresh idempotency token per request:
-- "<BENCH_TAG>-<thread>-<counter>", so every request is a new durable write.
-- BENCH_TOKEN: a user token whose principal is BENCH_SENDER. Each pays bob by
-- card-1 in USD, a payment method registered for bob first (paymentctl
-- method add).
--
-- The request text is put together by plain concatenation from parts made
-- once in init (not wrk.format per request, which rebuilds every header
-- line): the load generator shares the machine's cores with the daemons, and
-- the nginx cases it is compared with send a request made once.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local n, head, prefix, suffix = 0, nil, nil, nil

function init(args)
   local tag = os.getenv("BENCH_TAG") or "run"
   local sender = os.getenv("BENCH_SENDER") or "alice"
   head = "POST /api/v1/payment/create HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
          "\r\nx_auth_token: " .. os.getenv("BENCH_TOKEN") ..
          "\r\nContent-Type: application/json\r\nContent-Length: "
   prefix = '{"idempotency_token":"' .. tag .. '-' .. tid .. '-'
   suffix = '","money_info":{"method_id":"card-1","currency":"USD","amount":"1.10"},' ..
            '"recipcient":{"recipcient_id":"bob"},"sender":{"sender_id":"' .. sender .. '"}}'
end

function request()
   n = n + 1
   local body = prefix .. n .. suffix
   return head .. #body .. "\r\n\r\n" .. body
end
