-- A realistic mix, one request at a time per connection, chosen at random with the weights in
-- BENCH_MIX ("handbook:70,worklist:10,checkup:15,distribution:5" by default): mothers opening
-- their handbook, clinics reading work lists and saving checkups, village doctors distributing.
dofile(os.getenv("BENCH_DIR") .. "/lua/common.lua")
local mix, total = {}, 0
for name, w in string.gmatch(os.getenv("BENCH_MIX") or "handbook:70,worklist:10,checkup:15,distribution:5", "(%a+):(%d+)") do
   total = total + tonumber(w)
   mix[#mix + 1] = { fn = _G["req_" .. name], upto = total }
end
local counters = {}
function request()
   local r = math.random() * total
   for i, m in ipairs(mix) do
      if r < m.upto then
         counters[i] = (counters[i] or 0) + 1
         return m.fn(counters[i])
      end
   end
end
