-- Preparation, not a measured case: sends the request BENCH_METHOD
-- BENCH_PATH with body BENCH_BODY (and x_auth_token BENCH_TOKEN when set)
-- and appends the capture of the Lua pattern BENCH_MATCH in every answer
-- to BENCH_OUT.<thread>, one a line. Used to open purchases and to buy
-- sandbox purchase tokens for the redeem case.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local out, pat, req

function init(args)
   local headers = {["Content-Type"] = "application/json"}
   if os.getenv("BENCH_TOKEN") then headers["x_auth_token"] = os.getenv("BENCH_TOKEN") end
   req = wrk.format(os.getenv("BENCH_METHOD"), os.getenv("BENCH_PATH"), headers, os.getenv("BENCH_BODY"))
   pat = os.getenv("BENCH_MATCH")
   out = io.open(os.getenv("BENCH_OUT") .. "." .. tid, "w")
   out:setvbuf("line")
end

function request()
   return req
end

function response(status, headers, body)
   if status < 300 then
      local v = body:match(pat)
      if v then out:write(v, "\n") end
   end
end
