-- GET /finance/packages/ (the store family's main read).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
wrk.headers["x_auth_token"] = os.getenv("BENCH_TOKEN")
wrk.headers["devicetype"] = "android"
