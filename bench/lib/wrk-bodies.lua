-- wrk script: POSTs the JSON bodies of the file named by $KILN_BENCH_BODIES (one per line) in turn,
-- so every request carries a different row; prints the figures as one JSON line at the end.
local bodies = {}
for line in io.lines(os.getenv("KILN_BENCH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'KILN_BENCH {"requests":%d,"seconds":%.3f,"reqPerSec":%.1f,"p50Ms":%.4f,"p99Ms":%.4f,"p999Ms":%.4f,"errors":%d,"non2xx":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
