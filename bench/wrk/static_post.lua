-- nginx POST of a ~100-byte JSON body (the ceiling for writes).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.body = '{"idempotency_token":"0b6f1e0e-6c9a-4c55-9a35-6f2b8e0a9d11","money_info":{"currency":"USD","amount":1.1}}'
wrk.headers["Content-Type"] = "application/json"
