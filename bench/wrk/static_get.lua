-- nginx GET of a fixed JSON body (the ceiling for reads).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
