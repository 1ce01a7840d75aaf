-- wrk script for tests/soak/soak.py: a mix of authenticated page views,
-- SAML issuances, unauthenticated redirects and login-form fetches, with
-- the 5xx and other non-2xx/3xx answers counted across threads.
--
--   SOAK_COOKIE="edgeidp=..." wrk -s mix.lua http://127.0.0.1:PORT
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local cookie = os.getenv("SOAK_COOKIE") or ""
local mix = {
  -- weight, path, authenticated
  {60, "/app/soak", true},
  {10, "/aws", true},           -- a signed SAML response each time
  {10, "/edgeidp/", true},      -- the launcher
  {10, "/app/anon", false},     -- 302 to the login page
  {10, "/edgeidp/login", false} -- the login form (a fresh CSRF cookie)
}
local requests = {}

function init(args)
  s5xx, s4xx, n = 0, 0, 0
  for _, m in ipairs(mix) do
    local headers = {}
    if m[3] then headers["Cookie"] = cookie end
    local r = wrk.format("GET", m[2], headers)
    for _ = 1, m[1] do table.insert(requests, r) end
  end
end

function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end

function response(status, headers, body)
  if status >= 500 then
    s5xx = s5xx + 1
  elseif status >= 400 then
    s4xx = s4xx + 1
  end
end

function done(summary, latency, reqs)
  local t5, t4 = 0, 0
  for _, t in ipairs(threads) do
    t5 = t5 + t:get("s5xx")
    t4 = t4 + t:get("s4xx")
  end
  io.write(string.format("SOAK requests=%d 5xx=%d 4xx=%d socket_errors=%d p99_ms=%.1f\n",
                         summary.requests, t5, t4,
                         summary.errors.connect + summary.errors.read + summary.errors.write +
                         summary.errors.timeout,
                         latency:percentile(99) / 1000))
end
