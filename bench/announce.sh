#!/usr/bin/env bash
# Announce benchmark: how many HTTP announces a second the hub's tracker answers on one core.
#
# Builds seedbank, makes a hub with MEMBERS members and TORRENTS registered torrents (tiny distinct
# files, each published with `seedbank publish`), starts it on core HUB_CORE with one worker thread
# (`taskset -c 0 seedbank hub --threads 1`), and loads it from core WRK_CORE with wrk and
# bench/announce.lua: PEERS peers, each with its own member, torrent, peer_id and growing counters,
# announcing at random (compact=1, numwant=50; see the top of announce.lua). Accounting stays on: every
# announce credits a delta and the flusher writes the batch to SQLite every FLUSH_INTERVAL seconds, on
# the same core. A warm-up pass (not counted) registers every peer with event=started first, so the
# measured runs update known peers. Prints requests/s per run, the median, and failure counts.
#
# Every response is checked: a success is status 200 with a body starting `d8:complete`. Trackers
# refuse with status 200 and a bencoded `failure reason`, so wrk's own counts would not notice; the
# script fails (exit 1) if any announce failed or any socket error happened. After the last run it
# also checks the accounting: each member's credited totals (GET /api/v1/me, after a flush) must
# equal what its peers last reported, as announce.lua computes it; and the hub must stop on SIGTERM
# with exit status 0 after its final flush, having logged no warning or error.
#
# Peer trackers (optional): the same load, on the same cores, against other trackers' plain
# `GET /announce` (no passkey: every announce is an open-tracker announce, no accounting); prints the
# ratio seedbank / peer of the medians. Any of
#   AQUATIC_HTTP=/path/to/aquatic_http        the script writes its config: plain HTTP, IPv4, one
#                                             socket worker and one swarm worker (its minimum)
#   TORRUST_TRACKER=/path/to/torrust-tracker  the script writes its config: public mode, one HTTP
#                                             tracker, no UDP tracker, no API
#   PEER_TRACKER_CMD="cmd args"               any other tracker, run as `bash -c "exec $PEER_TRACKER_CMD"`,
#   PEER_TRACKER_URL=http://127.0.0.1:N       serving /announce here
#   PEER_NAME=peer                            and its label
# Every peer runs confined to HUB_CORE like the hub (all its threads), gets SIGTERM, then SIGINT,
# then SIGKILL when done.
#
# Environment:
#   RUNS=3              measured runs per tracker
#   MEMBERS=200         members (passkeys)
#   TORRENTS=100        registered torrents
#   PEERS=50000         the peer pool
#   SEEDERS_PERCENT=30  peers that announce left=0
#   DURATION=10s        per measured run (wrk -d)
#   WARMUP=5s           the uncounted first pass (registers every peer if the tracker does >= 10k/s)
#   CONNECTIONS=64      wrk -c (one wrk thread)
#   FLUSH_INTERVAL=3    seconds between the hub's accounting flushes
#   HUB_CORE=0          core of the tracker under test
#   WRK_CORE=1          core of wrk
#   BENCH_DIR=/var/tmp  where the temporary hub lives (must be a disk, not tmpfs)
set -euo pipefail

RUNS=${RUNS:-3}
MEMBERS=${MEMBERS:-200}
TORRENTS=${TORRENTS:-100}
PEERS=${PEERS:-50000}
SEEDERS_PERCENT=${SEEDERS_PERCENT:-30}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
CONNECTIONS=${CONNECTIONS:-64}
FLUSH_INTERVAL=${FLUSH_INTERVAL:-3}
HUB_CORE=${HUB_CORE:-0}
WRK_CORE=${WRK_CORE:-1}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
AQUATIC_HTTP=${AQUATIC_HTTP:-}
TORRUST_TRACKER=${TORRUST_TRACKER:-}
PEER_TRACKER_CMD=${PEER_TRACKER_CMD:-}
PEER_TRACKER_URL=${PEER_TRACKER_URL:-}
PEER_NAME=${PEER_NAME:-peer}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
script="$root/bench/announce.lua"
seedbank="${CARGO_TARGET_DIR:-$root/target}/release/seedbank"

for n in RUNS MEMBERS TORRENTS PEERS CONNECTIONS FLUSH_INTERVAL; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer"
done
[[ $SEEDERS_PERCENT =~ ^[0-9]+$ ]] && ((SEEDERS_PERCENT <= 100)) || die "SEEDERS_PERCENT must be 0..100"
command -v wrk >/dev/null || die "wrk not found; install it with: apt-get install -y wrk"
command -v taskset >/dev/null || die "taskset not found (Debian: util-linux)"
((HUB_CORE != WRK_CORE)) || die "HUB_CORE and WRK_CORE must differ"
for bin in AQUATIC_HTTP TORRUST_TRACKER; do
    [[ -z ${!bin} || -x ${!bin} ]] || die "$bin=${!bin} is not an executable"
done
if [[ -n $PEER_TRACKER_CMD ]]; then
    [[ $PEER_TRACKER_URL =~ ^http://[0-9.]+:[0-9]+/?$ ]] ||
        die "PEER_TRACKER_CMD needs PEER_TRACKER_URL=http://IP:PORT (where it serves /announce)"
    [[ $PEER_NAME =~ ^[A-Za-z0-9_.-]+$ && $PEER_NAME != seedbank ]] || die "PEER_NAME must be a plain word"
fi

echo "== building seedbank (release)"
(cd "$root" && cargo build --release -p cli)
[[ -x $seedbank ]] || die "no binary at $seedbank"

work=$(mktemp -d "$BENCH_DIR/seedbank-announce.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then
        stop_server 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

warn_if_tmpfs "$work"

echo "== machine: $(machine)"
echo "== $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2); tracker on core $HUB_CORE, wrk on core $WRK_CORE"
echo "== load: $PEERS peers, $MEMBERS members, $TORRENTS torrents, $SEEDERS_PERCENT % seeders," \
    "wrk -t1 -c$CONNECTIONS, warm-up $WARMUP, $RUNS x $DURATION; work dir $work ($fstype)"

# Waits until something accepts TCP connections on $1:$2.
wait_port() {
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# Stops the server with SIGTERM (the hub must exit 0 on it); a server still there after 20 s gets
# SIGINT (torrust-tracker only stops on that), then SIGKILL. Returns the server's exit status.
stop_server() {
    local status=0 sig
    for sig in TERM INT KILL; do
        kill -"$sig" "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 200); do
            [[ $(awk '{ print $3 }' "/proc/$server_pid/stat" 2>/dev/null || echo Z) == Z ]] && break 2
            sleep 0.1
        done
        echo "   (pid $server_pid still running 20 s after SIG$sig)" >&2
    done
    wait "$server_pid" || status=$?
    server_pid=""
    return "$status"
}

rss_mib() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# Busy and total jiffies of one core, from /proc/stat.
core_ticks() {
    awk -v c="cpu$1" '$1 == c { busy = $2 + $3 + $4 + $7 + $8; total = busy + $5 + $6; print busy, total }' /proc/stat
}

# Pool and hashes, shared by every tracker.
hashes_file="$work/hashes"
passkeys_file="$work/passkeys"
declare -A results failed

# One wrk invocation. Args: tracker label, run index (0 = warm-up), duration, base URL, path mode.
# Prints one line; adds the rate to results[label] (measured runs) and failures to failed[label].
run_load() {
    local label=$1 run=$2 duration=$3 url=$4 mode=$5 log b0 t0 b1 t1 w0 wt0 w1 wt1 p0 p1 rate line fails
    log="$work/wrk-$label-$run.log"
    read -r b0 t0 < <(core_ticks "$HUB_CORE")
    read -r w0 wt0 < <(core_ticks "$WRK_CORE")
    p0=$(cpu_ticks "$server_pid")
    if ! ANNOUNCE_PATH_MODE=$mode ANNOUNCE_RUN=$run ANNOUNCE_PEERS=$PEERS \
        ANNOUNCE_SEEDERS_PERCENT=$SEEDERS_PERCENT ANNOUNCE_HASHES=$hashes_file \
        ANNOUNCE_PASSKEYS=$passkeys_file ANNOUNCE_STATE="$work/state-$label" ANNOUNCE_THREADS=1 \
        ANNOUNCE_EXPECT="$work/expect-$label" \
        taskset -c "$WRK_CORE" wrk -t1 -c"$CONNECTIONS" -d"$duration" -s "$script" "$url" >"$log" 2>&1; then
        cat "$log" >&2
        die "wrk failed against $label"
    fi
    read -r b1 t1 < <(core_ticks "$HUB_CORE")
    read -r w1 wt1 < <(core_ticks "$WRK_CORE")
    p1=$(cpu_ticks "$server_pid" 2>/dev/null || echo "$p0")
    rate=$(awk '/^Requests\/sec:/ { print $2 }' "$log")
    line=$(grep -m1 '^announce: responses=' "$log") || {
        cat "$log" >&2
        die "no announce summary from wrk against $label"
    }
    # Failed announces plus socket errors.
    fails=$(sed -E 's/.*failures=([0-9]+).*socket_errors=([0-9]+).*/\1 \2/' <<<"$line" | awk '{ print $1 + $2 }')
    failed[$label]=$((${failed[$label]:-0} + fails))
    local what="run $run"
    ((run == 0)) && what="warm-up"
    # Busy shares of the two cores (whoever ran there) and the tracker's own share of its core; a gap
    # between the first two means something else ran on the tracker's core.
    printf '   %-15s %-8s %10s req/s  %s\n' "$label" "$what" "$rate" "${line#announce: }"
    printf '                core %d busy %d%% (tracker process %d%%), core %d (wrk) busy %d%%, tracker RSS %s MiB\n' \
        "$HUB_CORE" $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1))) \
        $(((p1 - p0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1))) \
        "$WRK_CORE" $(((w1 - w0) * 100 / (wt1 - wt0 > 0 ? wt1 - wt0 : 1))) \
        "$(rss_mib "$server_pid" 2>/dev/null || echo '?')"
    grep -E '^announce: (latency|first failure)' "$log" | sed 's/^/                /'
    if ((fails > 0)); then
        echo "   !! $fails failed announces / socket errors against $label ($what)" >&2
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        die "$label died during $what"
    fi
    ((run == 0)) || results[$label]+="$rate "
}

# The warm-up and the measured runs against one tracker.
load_series() {
    local label=$1 url=$2 mode=$3 run
    run_load "$label" 0 "$WARMUP" "$url" "$mode"
    for run in $(seq 1 "$RUNS"); do
        run_load "$label" "$run" "$DURATION" "$url" "$mode"
    done
}

# --- the hub -------------------------------------------------------------------------------------

hub_dir="$work/hub"
node_dir="$work/node"
mkdir -p "$work/files"
t0=$(date +%s%N)
for i in $(seq 1 "$MEMBERS"); do
    "$seedbank" hub member add "member$i" --data-dir "$hub_dir" 2>/dev/null >>"$passkeys_file"
done
[[ $(wc -l <"$passkeys_file") -eq $MEMBERS ]] || die "expected $MEMBERS passkeys in $passkeys_file"
echo "== $MEMBERS members added in $(((($(date +%s%N) - t0)) / 1000000)) ms"

hub_log="$work/hub.log"
taskset -c "$HUB_CORE" "$seedbank" hub --data-dir "$hub_dir" --listen 127.0.0.1:0 --threads 1 \
    --flush-interval "$FLUSH_INTERVAL" >"$hub_log" 2>&1 &
server_pid=$!
ready=$(wait_line "$server_pid" "$hub_log" 'hub serving on http://[0-9.]+:[0-9]+') || {
    cat "$hub_log" >&2
    die "the hub did not start"
}
hub_url=${ready#hub serving on }

# Torrents: one tiny distinct file each, published through the hub's API by the first member.
t0=$(date +%s%N)
publisher=$(head -n 1 "$passkeys_file")
for i in $(seq 1 "$TORRENTS"); do
    file="$work/files/announce-bench-$i.txt"
    printf 'seedbank announce benchmark, torrent %d of %d\n' "$i" "$TORRENTS" >"$file"
    "$seedbank" publish "$file" --hub "$hub_url" --passkey "$publisher" --category bench \
        --data-dir "$node_dir" >/dev/null 2>>"$work/publish.log" || {
        tail -n 20 "$work/publish.log" >&2
        die "publishing torrent $i failed"
    }
done
# The node stores each registered torrent as <v1 info-hash hex>.torrent.
find "$node_dir/torrents" -name '*.torrent' -printf '%f\n' | sed 's/\.torrent$//' | sort >"$hashes_file"
[[ $(grep -cE '^[0-9a-f]{40}$' "$hashes_file") -eq $TORRENTS ]] ||
    die "expected $TORRENTS v1 info-hashes in $node_dir/torrents"
echo "== $TORRENTS torrents published in $(((($(date +%s%N) - t0)) / 1000000)) ms; hub at $hub_url (pid $server_pid)"

load_series seedbank "$hub_url" passkey

# Accounting check: once the last batch is flushed, each member's credited totals must equal what its
# peers last reported (announce.lua writes that). Cumulative counters make a lost announce harmless
# except the very last of a peer: wrk may stop with up to CONNECTIONS announces unanswered (1 MiB
# each at most), so credit may fall short by that much, never exceed.
if command -v curl >/dev/null; then
    sleep $((FLUSH_INTERVAL + 2))
    exp_up=0 exp_down=0 got_up=0 got_down=0 clamped=0 over=0
    while read -r passkey up down; do
        me=$(curl -fsS -H "Authorization: Bearer $passkey" "$hub_url/api/v1/me") || die "GET /api/v1/me failed"
        u=$(grep -oE '"uploaded":[0-9]+' <<<"$me" | cut -d: -f2)
        d=$(grep -oE '"downloaded":[0-9]+' <<<"$me" | cut -d: -f2)
        c=$(grep -oE '"clamped":[0-9]+' <<<"$me" | cut -d: -f2)
        ((u <= up && d <= down)) || over=$((over + 1))
        exp_up=$((exp_up + up)) exp_down=$((exp_down + down)) got_up=$((got_up + u)) got_down=$((got_down + d))
        clamped=$((clamped + c))
    done <"$work/expect-seedbank"
    short=$((exp_up - got_up + exp_down - got_down))
    echo "== accounting: credited $got_up of $exp_up bytes uploaded, $got_down of $exp_down downloaded" \
        "(short by $short bytes), clamped $clamped, members credited too much: $over"
    if ((over > 0 || clamped > 0 || short < 0 || short > CONNECTIONS * 2 * 1048576)); then
        echo "!! the hub's accounting does not match the announces it answered" >&2
        failed[seedbank]=$((${failed[seedbank]:-0} + 1))
    fi
else
    echo "== accounting check skipped: no curl"
fi
hub_rss=$(rss_mib "$server_pid")
db_kib=$(du -sk "$hub_dir" | cut -f1)
status=0
stop_server || status=$?
((status == 0)) || die "the hub exited with status $status on SIGTERM; log: $(tail -n 20 "$hub_log")"
grep -q 'accounting flushed' "$hub_log" || die "the hub stopped without its final flush; log: $(tail -n 20 "$hub_log")"
echo "== hub stopped cleanly (RSS before stop: $hub_rss MiB, data dir $((db_kib / 1024)) MiB)"
if grep -qE ' (ERROR|WARN) |panicked' "$hub_log"; then
    echo "!! the hub logged warnings or errors:" >&2
    grep -E ' (ERROR|WARN) |panicked' "$hub_log" | head -n 20 >&2
    failed[seedbank]=$((${failed[seedbank]:-0} + 1))
fi
echo "== seedbank hub member list (first 3):"
"$seedbank" hub member list --data-dir "$hub_dir" >"$work/members.txt"
head -n 4 "$work/members.txt" | sed 's/^/   /'

# --- peer trackers -------------------------------------------------------------------------------

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts $2 (a shell command, run in the work dir) on the tracker core, waits for $3 (http://IP:PORT)
# to accept connections, runs the load, stops it.
peer_series() {
    local label=$1 cmd=$2 url=$3 log="$work/$1.log"
    (cd "$work" && exec taskset -c "$HUB_CORE" bash -c "exec $cmd") >"$log" 2>&1 &
    server_pid=$!
    [[ $url =~ ^http://([0-9.]+):([0-9]+)$ ]] || die "bad URL $url"
    wait_port "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" || {
        cat "$log" >&2
        die "$label did not start (command: $cmd)"
    }
    load_series "$label" "$url" plain
    echo "   $label: its threads may run on CPUs" \
        "$(taskset -apc "$server_pid" 2>/dev/null | awk -F': ' '{ print $2 }' | sort -u | tr '\n' ' ')"
    stop_server || true
    peer_labels+=("$label")
}

peer_labels=()
if [[ -n $AQUATIC_HTTP ]]; then
    port=$(free_port)
    cat >"$work/aquatic-http.toml" <<EOF
socket_workers = 1
swarm_workers = 1
log_level = "warn"

[network]
use_ipv4 = true
use_ipv6 = false
address_ipv4 = "127.0.0.1:$port"
enable_tls = false
keep_alive = true

[protocol]
max_peers = 50
EOF
    echo "== aquatic_http ($("$AQUATIC_HTTP" --version 2>&1 | head -n 1)): 1 socket worker + 1 swarm worker"
    peer_series aquatic_http "$(printf '%q' "$AQUATIC_HTTP") -c aquatic-http.toml" "http://127.0.0.1:$port"
fi
if [[ -n $TORRUST_TRACKER ]]; then
    port=$(free_port)
    cat >"$work/torrust-tracker.toml" <<EOF
[metadata]
app = "torrust-tracker"
purpose = "configuration"
schema_version = "2.0.0"

[logging]
threshold = "error"

[core]
listed = false
private = false

[core.database]
path = "$work/torrust-tracker.sqlite3"

[[http_trackers]]
bind_address = "127.0.0.1:$port"
EOF
    echo "== torrust-tracker: public mode, one HTTP tracker (tokio sizes its runtime to the one allowed core)"
    peer_series torrust-tracker \
        "env TORRUST_TRACKER_CONFIG_TOML_PATH=torrust-tracker.toml $(printf '%q' "$TORRUST_TRACKER")" "http://127.0.0.1:$port"
fi
if [[ -n $PEER_TRACKER_CMD ]]; then
    echo "== $PEER_NAME: $PEER_TRACKER_CMD"
    peer_series "$PEER_NAME" "$PEER_TRACKER_CMD" "${PEER_TRACKER_URL%/}"
fi

# --- results -------------------------------------------------------------------------------------

labels=(seedbank "${peer_labels[@]}")
echo
echo "== results: announces/s (wrk -t1 -c$CONNECTIONS, $DURATION runs; tracker on one core, wrk on another)"
printf '%-16s %-40s %10s %10s\n' tracker runs median failures
for label in "${labels[@]}"; do
    runs=${results[$label]:-}
    printf '%-16s %-40s %10s %10s\n' "$label" "${runs% }" "$(median "$runs" %.0f)" "${failed[$label]:-0}"
done
sb=$(median "${results[seedbank]:-}" %.0f)
for label in "${peer_labels[@]}"; do
    peer=$(median "${results[$label]:-}" %.0f)
    [[ -n $sb && -n $peer ]] || continue
    echo "seedbank / $label (medians): $(awk -v a="$sb" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')"
done
if ((${#peer_labels[@]} > 0)); then
    echo "(seedbank: private, passkey check, exact accounting, SQLite flushes; the peers: open trackers, memory only)"
fi
total_failed=0
for label in "${labels[@]}"; do
    total_failed=$((total_failed + ${failed[$label]:-0}))
done
((total_failed == 0)) || die "FAILED: $total_failed failed announces, socket errors or hub errors (see above)"
