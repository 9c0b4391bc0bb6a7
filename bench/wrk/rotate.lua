-- wrk script: replays GET requests listed in a file, one "path<TAB>cookie" per line, in turn,
-- so the load comes from many signed-in users; counts non-200 answers (a redirect to the
-- sign-in page is an error here) and prints the result as one JSON line.
-- Usage: wrk ... -s rotate.lua URL -- requests.tsv "br, gzip"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  queue = {}
  counter = 0
  bad = 0
  local encoding = args[2] or ""
  for line in io.lines(args[1]) do
    local path, cookie = line:match("^(%S+)\t(.*)$")
    local headers = { ["Accept-Encoding"] = encoding }
    if cookie ~= "" then headers["Cookie"] = cookie end
    table.insert(queue, wrk.format("GET", path, headers))
  end
end

function request()
  counter = counter + 1
  return queue[(counter % #queue) + 1]
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local not_ok = 0
  for _, thread in ipairs(threads) do not_ok = not_ok + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "not_ok": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, not_ok,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
