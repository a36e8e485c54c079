-- An idempotent replay: the same idempotency token and body every request
-- (created once before the run), so every answer is the stored first answer.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local req

function init(args)
   local headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
   req = wrk.format("POST", "/api/v1/payment/create", headers, os.getenv("BENCH_BODY"))
end

function request()
   return req
end
