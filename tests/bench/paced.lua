-- wrk script for latency at a steady load below saturation: each
-- connection waits 1 ms (wrk's timer resolution) between a response and
-- its next request, so the rate is about connections / (1 ms + latency)
-- and a latency measures the server, not a queue of wrk's own making.
function delay()
  return 1
end
