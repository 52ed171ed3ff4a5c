-- One endpoint class: see req_handbook in common.lua.
dofile(os.getenv("BENCH_DIR") .. "/lua/common.lua")
local n = 0
function request()
   n = n + 1
   return req_handbook(n)
end
