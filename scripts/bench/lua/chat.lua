-- wrk script for the benchmark: POST one chat completion, check every answer.
--
-- Arguments after `--`: MODEL MODE [API_KEY], MODE is "stream" or "json".
-- A response is bad when its status is not 200, or when its body does not end with
-- `data: [DONE]` (stream) or has no "choices" (json). done() prints one BENCH_RESULT line of
-- key=value pairs that scripts/bench/wrk.py parses.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local model = args[1] or "bench-model"
   stream = args[2] == "stream"
   local key = args[3]
   bad_status = 0
   bad_body = 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   if key ~= nil and key ~= "" then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
   local extra = ""
   if stream then
      extra = ',"stream":true'
   end
   wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user",'
      .. '"content":"Say hello in one short sentence."}]' .. extra .. '}'
end

local DONE = "data: [DONE]"
local DONE_WINDOW = 24 -- the event, its blank line and some trailing whitespace

function response(status, headers, body)
   if status ~= 200 then
      bad_status = bad_status + 1
   elseif stream then
      local from = math.max(1, #body - DONE_WINDOW)
      if not string.find(body, DONE, from, true) then
         bad_body = bad_body + 1
      end
   elseif not string.find(body, '"choices"', 1, true) then
      bad_body = bad_body + 1
   end
end

function done(summary, latency, requests)
   local status, body = 0, 0
   for _, thread in ipairs(threads) do
      status = status + thread:get("bad_status")
      body = body + thread:get("bad_body")
   end
   local errors = summary.errors
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
         .. "bad_status=%d bad_body=%d connect=%d read=%d write=%d timeout=%d status=%d\n",
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      status, body, errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
