-- POST /finance/bazaarpay/confirm/: the app's confirm after the user paid.
-- BENCH_LIST holds checkout tokens of BENCH_TOKEN's principal, each paid at
-- the sandbox and never confirmed, prepared before the run; thread t walks
-- lines t, t+n, t+2n... and writes every token it sent to BENCH_OUT.<t>, so
-- that scripts/bench.sh can wait for exactly those checkouts' commits. When
-- every one of its share is answered the thread stops (wrk.thread:stop()),
-- so that cheap re-answers never count; requests sent past the end meanwhile
-- repeat the last token and count as "exhausted". Each request's text is
-- made once in init.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local reqs, toks, i, answered, out = {}, {}, 0, 0, nil
exhausted = 0

function init(args)
   local headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   local k = 0
   for line in io.lines(os.getenv("BENCH_LIST")) do
      local token = line:match("^(%S+)$")
      if token then
         if k % nthreads == tid - 1 then
            reqs[#reqs + 1] = wrk.format("POST", "/finance/bazaarpay/confirm/", headers,
               '{"checkout_token":"' .. token .. '"}')
            toks[#toks + 1] = token
         end
         k = k + 1
      end
   end
   out = io.open(os.getenv("BENCH_OUT") .. "." .. tid, "w")
   out:setvbuf("line")
end

function request()
   if i < #reqs then
      i = i + 1
      out:write(toks[i], "\n")
   else
      exhausted = exhausted + 1
   end
   return reqs[i]
end

function response(status, headers, body)
   answered = answered + 1
   if answered >= #reqs then wrk.thread:stop() end
end
