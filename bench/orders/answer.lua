-- POST /api/v1/public/surveys/{token}: customers answering their survey links, no account.
-- Reads the unanswered links' tokens from the file WRK_TOKENS (one a line); each wrk thread
-- takes its own share (WRK_THREADS must equal wrk's -t), so every request answers a different
-- link; a thread whose share is used up stops, and the RESULT line ends with 1 (the rate then
-- covers less than the whole run and is not a throughput). Prints the RESULT line of
-- bench/archive/scenario.lua plus that flag, counting answers other than 200 as errors.
local threads = {}
setup = function(thread)
  thread:set("id", #threads)
  thread:set("of", tonumber(os.getenv("WRK_THREADS") or "2"))
  table.insert(threads, thread)
end

-- Globals, so done() can read them from each thread (thread:get sees globals only).
bad = 0
ran_out = 0
local tokens = {}
local counter = 0
local scores = { 5, 5, 4, 5, 3, 4, 5, 2, 5, 4 }

init = function(args)
  local n = 0
  for line in io.lines(os.getenv("WRK_TOKENS")) do
    if n % of == id then table.insert(tokens, line) end
    n = n + 1
  end
end

request = function()
  counter = counter + 1
  if counter > #tokens then
    ran_out = 1
    wrk.thread:stop()
    counter = #tokens
  end
  local body = string.format('{"overall":%d,"comment":"服务及时"}', scores[(counter % #scores) + 1])
  return wrk.format("POST", "/api/v1/public/surveys/" .. tokens[counter], { ["Content-Type"] = "application/json" }, body)
end

response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local refused, out = 0, 0
  for _, t in ipairs(threads) do
    refused = refused + (t:get("bad") or 0)
    out = math.max(out, t:get("ran_out") or 0)
  end
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.2f %.2f %.2f %.2f %d %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout + refused, out))
end
