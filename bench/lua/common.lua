-- Shared by every wrk script of bench/: loads the generated county (BENCH_DATA, a data.lua written
-- by generate.py), numbers the threads, counts answers by status and class, and prints one
-- machine-readable line at the end:
--   BENCH {"requests":…, "rps":…, "p50_ms":…, "p99_ms":…, "errors":…, "status":{…}, "classes":{…}}
-- "errors" are socket errors and every answer outside 2xx, except the statuses listed in
-- BENCH_EXPECTED (e.g. "409" for nutrition distributions once a child has had this month's pack),
-- which are reported separately as "expected".

local data_path = os.getenv("BENCH_DATA")
D = data_path and dofile(data_path) or {}

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   thread:set("nthreads", 0) -- fixed up in init
   table.insert(threads, thread)
end

-- per thread
status_counts = {}
class_counts = {}
samples = {} -- the first body of each non-2xx class:status, for the report
local seq = 0

-- Each request names its class in X-Request-Id (the server echoes a valid incoming one), so the
-- answer is counted under the right class even with a mix over many connections.
function request_id(class)
   seq = seq + 1
   return string.format("bench-%s-%d-%d", class, tid, seq)
end

function response(status, headers, body)
   local rid = headers["x-request-id"] or headers["X-Request-Id"] or ""
   local class = string.match(rid, "^bench%-(%a+)%-") or "other"
   local s = tostring(status)
   status_counts[s] = (status_counts[s] or 0) + 1
   local key = class .. ":" .. s
   class_counts[key] = (class_counts[key] or 0) + 1
   if (status < 200 or status >= 300) and samples[key] == nil then
      samples[key] = string.sub(body or "", 1, 240)
   end
end

local function json_string(s)
   s = string.gsub(s, '[\128-\255]', '?')
   s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
   return '"' .. s .. '"'
end

local function json_table(t)
   local parts = {}
   for k, v in pairs(t) do
      parts[#parts + 1] = string.format('"%s":%d', k, v)
   end
   table.sort(parts)
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local expected = {}
   for s in string.gmatch(os.getenv("BENCH_EXPECTED") or "", "%d+") do expected[s] = true end
   local status, classes, bodies = {}, {}, {}
   for _, t in ipairs(threads) do
      for k, v in pairs(t:get("samples") or {}) do bodies[k] = bodies[k] or v end
      for k, v in pairs(t:get("status_counts") or {}) do status[k] = (status[k] or 0) + v end
      for k, v in pairs(t:get("class_counts") or {}) do classes[k] = (classes[k] or 0) + v end
   end
   local bad, exp = 0, 0
   for k, v in pairs(status) do
      local n = tonumber(k)
      if expected[k] then exp = exp + v
      elseif n < 200 or n >= 300 then bad = bad + v end
   end
   local sample_parts = {}
   for k, v in pairs(bodies) do sample_parts[#sample_parts + 1] = json_string(k) .. ":" .. json_string(v) end
   local e = summary.errors
   local sock = e.connect + e.read + e.write + e.timeout
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH {"requests":%d,"duration_s":%.3f,"rps":%.1f,"ok_rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,' ..
      '"errors":%d,"socket_errors":%d,"expected":%d,"status":%s,"classes":%s,"samples":{%s}}\n',
      summary.requests, secs, summary.requests / secs, (summary.requests - bad - exp - sock) / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, latency.mean / 1000,
      bad + sock, sock, exp, json_table(status), json_table(classes), table.concat(sample_parts, ",")))
end

function auth_headers(class, token, json)
   local h = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json", ["X-Request-Id"] = request_id(class) }
   if json then h["Content-Type"] = "application/json" end
   return h
end

-- Request builders, one per endpoint class; each takes a running counter.
function req_handbook(n)
   local m = D.mothers[(n % #D.mothers) + 1]
   return wrk.format("GET", "/api/v1/me/handbook", auth_headers("handbook", m))
end

function req_worklist(n)
   local w = D.worklists[(n % #D.worklists) + 1]
   return wrk.format("GET", "/api/v1/worklist/antenatal?region=" .. w.region, auth_headers("worklist", D.tokens[w.clinician]))
end

function req_checkup(n)
   local p = D.pregnancies[(n % #D.pregnancies) + 1]
   local sys = 100 + (n * 7) % 38
   local body = string.format(
      '{"visit_date":"%s","weight_kg":%.1f,"bp_systolic":%d,"bp_diastolic":%d,"fetal_heart_rates":[%d],' ..
      '"oedema":"none","urine_protein":"negative","urine_glucose":"negative","complaints":"无不适","advice":"注意休息，均衡饮食"}',
      D.today, 50 + (n % 200) / 10, sys, sys - 40, 125 + n % 35)
   return wrk.format("POST", "/api/v1/pregnancies/" .. p.id .. "/checkups", auth_headers("checkup", D.tokens[p.clinician], true), body)
end

-- Children BENCH_DIST_FROM .. BENCH_DIST_TO (1-based, inclusive) are this run's; thread t of T
-- takes every T-th one, so no child is asked twice until the slice is used up (then 409s).
function req_distribution(n)
   local from = tonumber(os.getenv("BENCH_DIST_FROM") or "1")
   local to = tonumber(os.getenv("BENCH_DIST_TO") or tostring(#D.children))
   local span = to - from + 1
   local c = D.children[from + ((n * nthreads + tid) % span)]
   return wrk.format("POST", "/api/v1/children/" .. c.id .. "/nutrition/distributions",
      auth_headers("distribution", D.tokens[c.doctor], true), '{"remaining_at_home":0}')
end

function init(args)
   nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   math.randomseed(1234 + tid)
end
