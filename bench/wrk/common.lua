-- common.lua: loaded by every bench wrk script (dofile). Numbers the threads
-- (global `tid` in each thread, 1..n) and prints the run's figures as one
-- JSON line prefixed "BENCHJSON " from done(), which scripts/bench.sh reads
-- instead of parsing wrk's text. Latencies are in milliseconds; "non2xx" is
-- wrk's errors.status (answers with status >= 400), "socket_errors" the sum
-- of connect, read, write and timeout errors.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

function bench_threads()
   return threads
end

-- The value of global `name` in every thread, summed (numbers only).
local function sum_thread(name)
   local s = 0
   for _, t in ipairs(threads) do
      local v = t:get(name)
      if type(v) == "number" then s = s + v end
   end
   return s
end

function done(summary, latency, requests)
   local e = summary.errors
   local sock = e.connect + e.read + e.write + e.timeout
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCHJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,' ..
      '"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f,"non2xx":%d,' ..
      '"socket_errors":%d,"errors":%d,"exhausted":%d,"unpaid":%d}\n',
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000,
      e.status, sock, e.status + sock, sum_thread("exhausted"), sum_thread("unpaid")))
end
