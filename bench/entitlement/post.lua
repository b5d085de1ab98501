-- POST /api/v1/entitlement/evaluate with a typical request: a performance fault on a
-- general-goods unit with a five-entry service history, under a built-in policy.
-- Needs TOKEN (an API token) in the environment; see bench/entitlement/run.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
wrk.body = [[{"policy": "cn-general-1995", "invoice_date": "2026-03-01", "delivery_date": null,
 "request_date": "2026-11-09", "grade": "mid", "category": null, "warranty_months": null,
 "odometer_km": null, "price_cents": 400000,
 "fault": {"kind": "performance", "serious_safety": false, "system": null, "main_part": null, "failure": null},
 "history": [
  {"kind": "repair", "same_fault": true, "start": "2026-04-01T09:00:00+08:00", "end": "2026-04-03T17:00:00+08:00", "waiting_for_parts_days": 1, "excluded_hours": 0},
  {"kind": "repair", "same_fault": false, "start": "2026-05-01T09:00:00+08:00", "end": "2026-05-02T17:00:00+08:00", "waiting_for_parts_days": 0, "excluded_hours": 0},
  {"kind": "replacement", "same_fault": true, "main_part": "compressor", "start": "2026-06-01T09:00:00+08:00", "end": "2026-06-05T17:00:00+08:00", "waiting_for_parts_days": 2, "excluded_hours": 0},
  {"kind": "repair", "same_fault": true, "start": "2026-08-01T09:00:00+08:00", "end": "2026-08-02T17:00:00+08:00", "waiting_for_parts_days": 0, "excluded_hours": 0},
  {"kind": "repair", "same_fault": false, "start": "2026-10-01T09:00:00+08:00", "end": "2026-10-01T17:00:00+08:00", "waiting_for_parts_days": 0, "excluded_hours": 0}
 ],
 "exclusions": [], "same_model_available": true, "depreciation_per_day": 0.001, "usage_rate_n": null}]]

-- Count answers other than 200, so a run that only measured errors is obvious.
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", bad))
end
