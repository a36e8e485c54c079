-- POST /finance/bazzar_paymnet/: the store family's main write. BENCH_PAIRS
-- holds "serial token" lines (an open purchase of BENCH_TOKEN's principal and
-- an unconsumed sandbox purchase token of the same SKU), prepared before the
-- run; thread t walks lines t, t+n, t+2n... When its share runs out it
-- repeats its last pair (an idempotent re-answer) and counts "exhausted".
-- Each request's text is made once in init.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local bodies, i, headers = {}, 0, nil
exhausted = 0

function init(args)
   headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   local k = 0
   for line in io.lines(os.getenv("BENCH_PAIRS")) do
      local serial, token = line:match("^(%S+) (%S+)$")
      if serial then
         if k % nthreads == tid - 1 then
            bodies[#bodies + 1] = wrk.format("POST", "/finance/bazzar_paymnet/", headers,
               '{"serial_number":"' .. serial .. '","ref_id":"' .. token .. '"}')
         end
         k = k + 1
      end
   end
end

function request()
   if i < #bodies then i = i + 1 else exhausted = exhausted + 1 end
   return bodies[i]
end
