-- POST /api/v1/stock/movements: issue one piece of a part from an engineer's van to a work order
-- in progress. WRK_PAIRS names a file of "van:part" lines (bins holding several pieces; a file, as
-- tens of thousands of them are too long for the environment), WRK_ORDERS is "id id …"
-- (orders that take parts); each request takes the next pair and the next order, every thread
-- starting at its own offset, so a bin is rarely emptied within a run. Needs TOKEN (a user with
-- MoveStock). Prints the same RESULT line as bench/archive/scenario.lua, counting answers other
-- than 201 as errors (each thread counts its own; done() adds them up, as bench/orders/create.lua).
local pairs_ = {}
for line in io.lines(os.getenv("WRK_PAIRS")) do
  local v, p = string.match(line, "(%d+):(%d+)")
  if v then table.insert(pairs_, { v, p }) end
end
local orders = {}
for o in string.gmatch(os.getenv("WRK_ORDERS") or "", "%d+") do
  table.insert(orders, o)
end
local counter = 0
-- Globals, so done() can read each thread's counts (thread:get sees globals only).
bad = 0
last_bad = ""
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
  local body = string.format('{"kind":"issue","part_id":%s,"qty":1,"from_id":%s,"order_id":%s}',
    p[2], p[1], orders[(counter % #orders) + 1])
  return wrk.format("POST", "/api/v1/stock/movements", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or ""),
  }, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    bad = bad + 1
    last_bad = status .. " " .. string.sub(body or "", 1, 300)
  end
end

done = function(summary, latency, requests)
  local refused = 0
  for _, t in ipairs(threads) do
    refused = refused + (t:get("bad") or 0)
    local lb = t:get("last_bad")
    if lb and lb ~= "" then io.stderr:write("a refused issue: " .. lb .. "\n") end
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.2f %.2f %.2f %.2f %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout + refused))
end
