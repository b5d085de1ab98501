-- Cycles through the space-separated, already URL-encoded paths of WRK_PATHS (so searches
-- vary their words) and prints one machine-readable RESULT line at the end:
-- requests, seconds, p50, p95, p99, max (ms), errors (socket errors, timeouts and non-2xx/3xx).
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do
  table.insert(paths, p)
end
local counter = 0

init = function(args)
  -- Threads start at different offsets so they do not ask the same thing in lockstep.
  counter = math.random(#paths)
end

request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.2f %.2f %.2f %.2f %d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.status + e.timeout))
end
