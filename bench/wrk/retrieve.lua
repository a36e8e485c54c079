-- GET /api/v1/payment/{id}/retrieve of existing payments: ids one a line in
-- the file BENCH_IDS (created before the run), picked at random per request.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local ids, headers = {}, nil

function init(args)
   headers = {["x_auth_token"] = os.getenv("BENCH_TOKEN")}
   for line in io.lines(os.getenv("BENCH_IDS")) do
      if #line > 0 then ids[#ids + 1] = "/api/v1/payment/" .. line .. "/retrieve" end
   end
   math.randomseed(tid * 7919 + os.time())
end

function request()
   return wrk.format("GET", ids[math.random(#ids)], headers)
end
