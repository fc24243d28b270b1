-- wrk script of bench/run: rotates the send payloads and prints exact
-- percentiles on a BENCH line for bench/report.
--   wrk ... -s bench/send.lua URL -- PAYLOAD_DIR PATH TOKEN
local requests = {}
local n = 0
local threads = 0

function setup(thread)
  -- Each thread starts at a different payload.
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  -- wrk.format needs wrk.host, which is set only once the thread exists.
  local dir = args[1] or "bench/payloads"
  local path = args[2] or "/v23.0/100000000000001/messages"
  local token = args[3] or "bench-token"
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  for _, name in ipairs({ "text", "image", "list", "carousel" }) do
    local f = assert(io.open(dir .. "/" .. name .. ".json", "rb"))
    local body = f:read("*a"):gsub("%s+$", "")
    f:close()
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
  end
  n = (offset or 0) % #requests
end

function request()
  n = n % #requests + 1
  return requests[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
