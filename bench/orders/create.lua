-- POST /api/v1/work-orders: a hotline repair request for one of the (unit, customer) pairs in
-- WRK_PAIRS ("unit:customer unit:customer …"), so every create decides the entitlement of a
-- real unit and checks it for repeat repairs. Needs TOKEN. Prints the same RESULT line as
-- bench/archive/scenario.lua, counting answers other than 201 as errors.
local pairs_ = {}
for u, c in string.gmatch(os.getenv("WRK_PAIRS") or "", "(%d+):(%d+)") do
  table.insert(pairs_, { u, c })
end
local problems = { "空调不制冷，室外机有异响", "室内机漏水", "开机后自动停机", "运行噪音大", "遥控器失灵" }
local counter = 0
-- A global, so done() can read each thread's count (thread:get sees globals only).
bad = 0
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  counter = math.random(#pairs_)
end

request = function()
  counter = counter + 1
  local p = pairs_[(counter % #pairs_) + 1]
  local body = string.format(
    '{"channel":"hotline","kind":"repair","priority":"normal","customer_id":%s,"unit_id":%s,"problem":"%s"}',
    p[2], p[1], problems[(counter % #problems) + 1])
  return wrk.format("POST", "/api/v1/work-orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""),
  }, body)
end

response = function(status, headers, body)
  if status ~= 201 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local refused = 0
  for _, t in ipairs(threads) do refused = refused + (t:get("bad") or 0) end
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.2f %.2f %.2f %.2f %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout + refused))
end
