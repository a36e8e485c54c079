-- GET /api/v1/payment/{id}/retrieve of existing payments: ids one a line in
-- the file BENCH_IDS (created before the run), picked at random per request.
-- Each request's whole text is made once in init, so a request costs the
-- load generator a table lookup (the nginx cases send a request made once).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local reqs = {}

function init(args)
   local headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN")}
   for line in io.lines(os.getenv("BENCH_IDS")) do
      if #line > 0 then
         reqs[#reqs + 1] = wrk.format("GET", "/api/v1/payment/" .. line .. "/retrieve", headers)
      end
   end
   math.randomseed(tid * 7919 + os.time())
end

function request()
   return reqs[math.random(#reqs)]
end
