-- The ceiling: GET / on examples/hello.rs (which does not echo X-Request-Id; answers count as "other").
dofile(os.getenv("BENCH_DIR") .. "/lua/common.lua")
