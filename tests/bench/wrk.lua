-- wrk script of tests/bench/run.sh: the same settings measure bound_http (a fixed path,
-- GET /health/live) and the verify API (GET /v1/verify, rotating over the accounts listed
-- one a line in WRK_ACCOUNTS, each thread from its own random start, with the business
-- system's token from WRK_TOKEN). done() prints one line "WRKJSON {...}" for the script.

local path = os.getenv("WRK_PATH") or "/health/live"
local accounts_file = os.getenv("WRK_ACCOUNTS")
local token = os.getenv("WRK_TOKEN")
local system = os.getenv("WRK_SYSTEM") or "teacher"
local role = os.getenv("WRK_ROLE") or "query"
local requests = {}
local i = 0

-- Every request is formatted here, once: formatting one per request() call costs wrk
-- about 4 us of CPU per request (measured), on the same two cores as the node. wrk's
-- scripting guide recommends this for fast servers.
function init(args)
    if token and token ~= "" then
        wrk.headers["Authorization"] = "Bearer " .. token
    end
    if accounts_file and accounts_file ~= "" then
        for line in io.lines(accounts_file) do
            if line ~= "" then
                requests[#requests + 1] = wrk.format("GET", "/v1/verify?account=" .. line ..
                                                         "&system=" .. system .. "&role=" .. role)
            end
        end
    end
    if #requests == 0 then
        requests[1] = wrk.format("GET", path)
    end
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
    i = math.random(1, #requests)
end

function request()
    i = i % #requests + 1
    return requests[i]
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format('WRKJSON {"requests": %d, "seconds": %.3f, "rps": %.1f, ' ..
                           '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
                           '"errors": %d, "non2xx": %d}\n',
                           summary.requests, secs, summary.requests / secs,
                           latency:percentile(50) / 1000, latency:percentile(90) / 1000,
                           latency:percentile(99) / 1000, latency.max / 1000,
                           e.connect + e.read + e.write + e.timeout, e.status))
end
