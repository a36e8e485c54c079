-- POST /order-inv-validation/: seed 004's validation once the payer paid.
-- BENCH_LIST holds "ORDERID REGNO" lines of BENCH_TOKEN's Halkbank orders,
-- each registered through the gateway and paid at the sandbox, never
-- validated, prepared before the run; thread t walks lines t, t+n, t+2n...
-- Each validation is a status call to the bank (payment-core hands it to
-- provider-bank, which asks the sandbox's RBS over HTTP) and, the bank
-- saying paid, the invoice marked paid in one durable LMDB transaction
-- before the answer. When every one of its share is answered the thread
-- stops (wrk.thread:stop()), so that cheap re-answers of a paid invoice
-- never count; requests sent past the end meanwhile repeat the last order
-- and count as "exhausted". The thread that finds every thread's share
-- answered (each marks it with the file BENCH_OUT.done.<t>) sends wrk a
-- SIGINT, which ends the run there: wrk's own clock (summary.duration) then
-- covers exactly the prepared orders, however few, rather than -d. Answers other than "Validation success"
-- (status 1) count as "unpaid". Each request's text is made once in init.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local reqs, i, answered, nthreads, pid, out = {}, 0, 0, 2, nil, nil
exhausted = 0
unpaid = 0

function init(args)
   local headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN"), ["Content-Type"] = "application/json"}
   nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   out = os.getenv("BENCH_OUT")
   local f = io.open("/proc/self/stat") -- wrk's pid (the process, not the thread)
   pid = f:read("*n")
   f:close()
   local k = 0
   for line in io.lines(os.getenv("BENCH_LIST")) do
      local order, reg = line:match("^(%S+) (%S+)$")
      if order then
         if k % nthreads == tid - 1 then
            reqs[#reqs + 1] = wrk.format("POST", "/order-inv-validation/", headers,
               '{"OrderId":"' .. order .. '","OInvRegNo":"' .. reg ..
               '","online_payment_type":"halkbank"}')
         end
         k = k + 1
      end
   end
end

function request()
   if i < #reqs then
      i = i + 1
   else
      exhausted = exhausted + 1
   end
   return reqs[i]
end

function response(status, headers, body)
   answered = answered + 1
   if status ~= 200 or not body:find('"status":1', 1, true) then unpaid = unpaid + 1 end
   if answered == #reqs then
      io.open(out .. ".done." .. tid, "w"):close()
      local all = true
      for t = 1, nthreads do
         local f = io.open(out .. ".done." .. t)
         if f then f:close() else all = false end
      end
      -- io.popen, not os.execute: system() ignores SIGINT while it waits.
      if all then io.popen("kill -INT " .. pid):close() end
      wrk.thread:stop()
   end
end
