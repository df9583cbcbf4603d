-- wrk script for bench/announce.sh: varied BitTorrent announces against the hub (or a peer tracker).
--
-- A fixed pool of peers (ANNOUNCE_PEERS, default 50,000). Each peer gets, once and the same way in
-- every run (fixed seed), a member (a random line of ANNOUNCE_PASSKEYS), a torrent (a random line of
-- ANNOUNCE_HASHES), a peer_id, a key and a port; ANNOUNCE_SEEDERS_PERCENT of them are seeders
-- (left=0), the others leechers of a random size that complete after 5 to 3,000 announces (`left`
-- reaches 0; that announce carries event=completed). Every request picks a peer at random, so swarms
-- hold ~peers/torrents peers and almost every announce updates a known peer: the hub's
-- delta-accounting path. Requests ask for compact=1&numwant=ANNOUNCE_NUMWANT.
--
-- A peer's k-th announce (k = 0, 1, ...) reports uploaded = k * up_step and downloaded = k * down_step
-- (up to its size), steps of 16 KiB to 1 MiB: counters only grow, by plausible amounts. k is kept
-- across wrk invocations in ANNOUNCE_STATE (read at start if it exists, written by done()), so the
-- runs against one tracker process continue each other. A peer's first announce ever carries
-- event=started; when no state file exists yet (a fresh tracker), each thread first walks its peers
-- in order, so after that pass every peer is known, then switches to random picks.
--
-- With several wrk threads (-t N, and ANNOUNCE_THREADS=N), thread t owns the peers i with
-- (i - 1) % N == t, so no peer's counters are advanced by two threads.
--
-- Environment:
--   ANNOUNCE_PASSKEYS        file, one passkey a line (required in passkey mode)
--   ANNOUNCE_HASHES          file, one v1 info-hash (40 hex digits) a line (required)
--   ANNOUNCE_PATH_MODE       passkey (GET /announce/<passkey>?...) or plain (GET /announce?...)
--   ANNOUNCE_STATE           file keeping each peer's announce count between runs (optional)
--   ANNOUNCE_EXPECT          passkey mode: done() writes here what an exact tracker has credited
--                            each member by now, "<passkey> <uploaded> <downloaded>" (optional)
--   ANNOUNCE_PEERS=50000     size of the peer pool
--   ANNOUNCE_SEEDERS_PERCENT=30
--   ANNOUNCE_NUMWANT=50
--   ANNOUNCE_RUN=0           varies the random sequence between runs
--   ANNOUNCE_THREADS=1       wrk's -t
--   ANNOUNCE_GAP=4096        a peer is not picked again within this many requests (of its thread),
--                            so it never has two announces in flight: a real client never does, and
--                            a tracker may take two concurrent announces in either order (a later one
--                            first makes the earlier look like a restarted session)
--
-- A success is status 200 with a body starting `d8:complete`; anything else (a bencoded `failure
-- reason`, which trackers send with status 200, or another status) is a failure. done() prints
-- `announce: responses=N ok=N failures=N ...` and the first failure, which bench/announce.sh reads.

local function env(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then
        return default
    end
    return v
end

local function read_lines(path, what)
    local f, err = io.open(path, "r")
    if not f then
        error("announce.lua: cannot open " .. what .. " file " .. tostring(path) .. ": " .. tostring(err))
    end
    local out = {}
    for line in f:lines() do
        line = line:gsub("%s+", "")
        if line ~= "" then
            out[#out + 1] = line
        end
    end
    f:close()
    if #out == 0 then
        error("announce.lua: " .. what .. " file " .. path .. " is empty")
    end
    return out
end

-- "0a1b..." (40 hex digits) -> "%0a%1b..." (20 percent-escaped bytes).
local function percent_hex(hex)
    if #hex ~= 40 or not hex:match("^[0-9a-fA-F]+$") then
        error("announce.lua: not a 40-digit hex info-hash: " .. hex)
    end
    return (hex:lower():gsub("..", "%%%0"))
end

-- The pool: the same in every thread, every run and in done(). Per peer: its member (an index into
-- the passkeys; always 1 in plain mode), torrent, upload and download step, and size (0: a seeder).
function make_pool(npeers, nmembers, ntorrents, seeders)
    math.randomseed(20261121)
    local p = { member = {}, torrent = {}, up = {}, down = {}, size = {} }
    for i = 1, npeers do
        p.member[i] = math.random(1, nmembers)
        p.torrent[i] = math.random(1, ntorrents)
        p.up[i] = math.random(1, 64) * 16384
        if math.random(1, 100) <= seeders then
            p.down[i], p.size[i] = 0, 0
        else
            p.down[i] = math.random(1, 64) * 16384
            p.size[i] = p.down[i] * math.random(5, 3000)
        end
    end
    return p
end

-- What a peer reports at its k-th announce (k = 0, 1, ...): uploaded, downloaded, left.
function counters(pool, i, k)
    local size = pool.size[i]
    if size == 0 then
        return k * pool.up[i], 0, 0
    end
    local downloaded = k * pool.down[i]
    if downloaded > size then
        downloaded = size
    end
    return k * pool.up[i], downloaded, size - downloaded
end

-- Main state: the threads, so done() can collect their counters and peer counts.
local threads = {}

function setup(thread)
    thread:set("tid", #threads)
    threads[#threads + 1] = thread
end

-- Thread state. Globals are what done() reads through thread:get.
local mode, npeers, numwant, nthreads, owned, first_call, recent, recent_at, recent_len, busy
local pool, peer_prefix, peer_tail, peer_done, ordered_next, request_tail
peer_n = nil
responses, ok, failures, non200, refusals, first_failure = 0, 0, 0, 0, 0, nil

function init(args)
    mode = env("ANNOUNCE_PATH_MODE", "passkey")
    npeers = tonumber(env("ANNOUNCE_PEERS", "50000"))
    numwant = tonumber(env("ANNOUNCE_NUMWANT", "50"))
    nthreads = tonumber(env("ANNOUNCE_THREADS", "1"))
    tid = tid or 0
    local run = tonumber(env("ANNOUNCE_RUN", "0"))
    local seeders = tonumber(env("ANNOUNCE_SEEDERS_PERCENT", "30"))
    local hashes = {}
    for i, h in ipairs(read_lines(env("ANNOUNCE_HASHES", ""), "ANNOUNCE_HASHES")) do
        hashes[i] = percent_hex(h)
    end
    local prefixes
    if mode == "passkey" then
        prefixes = {}
        for i, p in ipairs(read_lines(env("ANNOUNCE_PASSKEYS", ""), "ANNOUNCE_PASSKEYS")) do
            prefixes[i] = "GET /announce/" .. p .. "?info_hash="
        end
    elseif mode == "plain" then
        prefixes = { "GET /announce?info_hash=" }
    else
        error("announce.lua: ANNOUNCE_PATH_MODE must be passkey or plain, not " .. mode)
    end
    local host = wrk.host
    if wrk.port then
        host = host .. ":" .. wrk.port
    end
    request_tail = " HTTP/1.1\r\nHost: " .. host .. "\r\n\r\n"

    pool = make_pool(npeers, #prefixes, #hashes, seeders)
    peer_prefix, peer_tail, peer_done = {}, {}, {}
    for i = 1, npeers do
        peer_prefix[i] = prefixes[pool.member[i]] .. hashes[pool.torrent[i]]
        -- peer_id: 20 ASCII bytes, nothing to escape.
        peer_tail[i] = string.format("&peer_id=-BN0001-%012d&port=%d&key=%08x&compact=1&numwant=%d",
            i, 1024 + (i - 1) % 60000, i, numwant)
    end

    -- Announces so far, per peer.
    peer_n = {}
    local state = env("ANNOUNCE_STATE", nil)
    local f = state and io.open(state, "r")
    if f then
        local i = 0
        for line in f:lines() do
            i = i + 1
            peer_n[i] = tonumber(line)
        end
        f:close()
        if i ~= npeers then
            error("announce.lua: " .. state .. " has " .. i .. " peers, not " .. npeers)
        end
    else
        for i = 1, npeers do
            peer_n[i] = 0
        end
        ordered_next = tid + 1
    end
    for i = 1, npeers do
        -- Leechers whose last announce already said left=0.
        peer_done[i] = pool.size[i] == 0 or (peer_n[i] > 0 and (peer_n[i] - 1) * pool.down[i] >= pool.size[i])
    end
    owned = math.floor((npeers - 1 - tid) / nthreads)
    recent_len = math.min(tonumber(env("ANNOUNCE_GAP", "4096")), math.floor((owned + 1) / 2))
    -- Arrays filled up front: LuaJIT keeps them in the array part (a hash with churning keys is
    -- several times slower and made wrk the bottleneck).
    recent, recent_at, busy = {}, 0, {}
    for j = 1, recent_len do
        recent[j] = 0
    end
    for j = 1, npeers do
        busy[j] = false
    end
    -- wrk calls request() once in thread 0 before the run to check it; that request is never sent.
    first_call = tid == 0

    -- Requests: a different sequence per run and thread.
    math.randomseed(1000003 * (run + 1) + 7919 * tid)
end

local function announce(i, k, event)
    local uploaded, downloaded, left = counters(pool, i, k)
    -- Counters stay far below 1e14, so LuaJIT prints them as plain integers.
    return peer_prefix[i] .. peer_tail[i] .. "&uploaded=" .. uploaded .. "&downloaded=" .. downloaded
        .. "&left=" .. left .. event .. request_tail, left
end

function request()
    if first_call then
        first_call = false
        return (announce(1, peer_n[1], ""))
    end
    local i, event
    if ordered_next and ordered_next <= npeers then
        i = ordered_next
        ordered_next = ordered_next + nthreads
    else
        repeat
            i = tid + 1 + nthreads * math.random(0, owned)
        until not busy[i]
    end
    -- Keep the last recent_len picks out of the draw (see ANNOUNCE_GAP).
    recent_at = recent_at % recent_len + 1
    local old = recent[recent_at]
    if old > 0 then
        busy[old] = false
    end
    recent[recent_at], busy[i] = i, true
    local k = peer_n[i]
    peer_n[i] = k + 1
    if k == 0 then
        event = "&event=started"
    else
        event = ""
    end
    local req, left = announce(i, k, event)
    if left == 0 and not peer_done[i] then
        peer_done[i] = true
        if k > 0 then
            req = announce(i, k, "&event=completed")
        end
    end
    return req
end

function response(status, headers, body)
    responses = responses + 1
    if status == 200 and body:sub(1, 11) == "d8:complete" then
        ok = ok + 1
        return
    end
    failures = failures + 1
    if status ~= 200 then
        non200 = non200 + 1
    elseif body:sub(1, 18) == "d14:failure reason" then
        refusals = refusals + 1
    end
    if first_failure == nil then
        first_failure = "status " .. status .. ": " .. (body:sub(1, 200):gsub("[%c\128-\255]", "?"))
    end
end

function done(summary, latency, requests)
    local t = { responses = 0, ok = 0, failures = 0, non200 = 0, refusals = 0 }
    local first
    local counts = {}
    local n = #threads
    for tix, thread in ipairs(threads) do
        for k in pairs(t) do
            t[k] = t[k] + (thread:get(k) or 0)
        end
        first = first or thread:get("first_failure")
        local pn = thread:get("peer_n")
        if pn then
            for i = tix, #pn, n do
                counts[i] = pn[i]
            end
        end
    end
    local state = env("ANNOUNCE_STATE", nil)
    if state and #counts > 0 then
        local f = assert(io.open(state, "w"))
        f:write(table.concat(counts, "\n"), "\n")
        f:close()
    end
    -- What an exact tracker has credited each member so far: every peer's last report (its first
    -- set the baseline at 0), one line "<passkey> <uploaded> <downloaded>" per member.
    local expect = env("ANNOUNCE_EXPECT", nil)
    if expect and #counts > 0 and env("ANNOUNCE_PATH_MODE", "passkey") == "passkey" then
        local passkeys = read_lines(env("ANNOUNCE_PASSKEYS", ""), "ANNOUNCE_PASSKEYS")
        local nhashes = #read_lines(env("ANNOUNCE_HASHES", ""), "ANNOUNCE_HASHES")
        local pool = make_pool(#counts, #passkeys, nhashes, tonumber(env("ANNOUNCE_SEEDERS_PERCENT", "30")))
        local up, down = {}, {}
        for m = 1, #passkeys do
            up[m], down[m] = 0, 0
        end
        for i = 1, #counts do
            if counts[i] > 0 then
                local u, d = counters(pool, i, counts[i] - 1)
                local m = pool.member[i]
                up[m], down[m] = up[m] + u, down[m] + d
            end
        end
        local f = assert(io.open(expect, "w"))
        for m = 1, #passkeys do
            f:write(string.format("%s %.0f %.0f\n", passkeys[m], up[m], down[m]))
        end
        f:close()
    end
    local e = summary.errors
    io.write(string.format(
        "announce: responses=%d ok=%d failures=%d non200=%d refusals=%d socket_errors=%d"
            .. " (connect %d, read %d, write %d, timeout %d)\n",
        t.responses, t.ok, t.failures, t.non200, t.refusals,
        e.connect + e.read + e.write + e.timeout, e.connect, e.read, e.write, e.timeout))
    io.write(string.format("announce: latency p50=%.0fus p99=%.0fus max=%.0fus\n",
        latency:percentile(50), latency:percentile(99), latency.max))
    if first then
        io.write("announce: first failure: " .. first .. "\n")
    end
end
