#!/usr/bin/env bash
# Transfer benchmark: one seeder, one downloader, one file over loopback TCP.
#
# Moves the same random file (1 GiB by default) libtorrent -> libtorrent and seedbank -> seedbank, for v1
# and hybrid torrents, RUNS times each, and prints MB/s per run (MB = 10^6 bytes), the median per client
# and format, and the ratio seedbank / libtorrent. Both clients use the same .torrent (made by libtorrent).
#
# Timing: from the start of the downloader process until it has verified every piece (libtorrent: the
# driver's `is_seeding` poll, then it exits; seedbank: `seedbank fetch` exiting 0). The seeder is started
# first and only counted as ready once it has re-checked its data and gone idle, so its check is excluded.
# Every run starts a fresh seeder and downloads into an empty directory; the download is compared with
# the source afterwards (outside the timing).
#
# Environment:
#   RUNS=3             runs per client and format
#   SIZE_MIB=1024      size of the file
#   PIECE_KIB=1024     piece size (the same torrent for both clients)
#   FORMATS="v1 hybrid"
#   CLIENTS="libtorrent seedbank"
#   LT_PRESET=default  or high-performance (libtorrent's high_performance_seed() settings on both sides)
#   LT_TICK_MS=100     libtorrent's tick interval. libtorrent connects new peers only on a tick; its
#                      default of 500 ms would add up to half a second of idle start to every run, which
#                      is latency, not throughput. Set 500 to measure libtorrent exactly as shipped.
#   BENCH_DIR=/var/tmp where the temporary data lives (must be a disk, not tmpfs)
#   PYTHON=/usr/bin/python3 a Python that can `import libtorrent` (Debian: python3-libtorrent)
#   TIMEOUT=600        seconds before a single transfer is abandoned
set -euo pipefail

RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
PIECE_KIB=${PIECE_KIB:-1024}
FORMATS=${FORMATS:-"v1 hybrid"}
CLIENTS=${CLIENTS:-"libtorrent seedbank"}
LT_PRESET=${LT_PRESET:-default}
LT_TICK_MS=${LT_TICK_MS:-100}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
PYTHON=${PYTHON:-/usr/bin/python3}
TIMEOUT=${TIMEOUT:-600}
WAIT_SECS=$TIMEOUT

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
driver="$root/crates/cli/tests/support/libtorrent_driver.py"
seedbank="${CARGO_TARGET_DIR:-$root/target}/release/seedbank"
size_bytes=$((SIZE_MIB * 1024 * 1024))
piece_bytes=$((PIECE_KIB * 1024))

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
"$PYTHON" -c 'import libtorrent' 2>/dev/null ||
    die "$PYTHON cannot import libtorrent; install it with: apt-get install -y python3-libtorrent"
[[ $LT_TICK_MS =~ ^[1-9][0-9]*$ ]] || die "LT_TICK_MS must be a positive integer"
lt_flags=(--tick-interval-ms "$LT_TICK_MS")
case $LT_PRESET in
default) ;;
high-performance) lt_flags+=(--high-performance) ;;
*) die "LT_PRESET must be default or high-performance" ;;
esac

if [[ " $CLIENTS " == *" seedbank "* ]]; then
    echo "== building seedbank (release)"
    (cd "$root" && cargo build --release -p cli)
    [[ -x $seedbank ]] || die "no binary at $seedbank"
fi

work=$(mktemp -d "$BENCH_DIR/seedbank-bench.XXXXXX")
seeder_pid=""
cleanup() {
    if [[ -n $seeder_pid ]]; then
        kill "$seeder_pid" 2>/dev/null || true
        wait "$seeder_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

warn_if_tmpfs "$work"

echo "== machine: $(machine)"
echo "== libtorrent $("$PYTHON" -c 'import libtorrent; print(libtorrent.__version__)') (preset: $LT_PRESET, tick $LT_TICK_MS ms), TCP only"
echo "== data: $SIZE_MIB MiB random, piece size $PIECE_KIB KiB, $RUNS run(s), work dir $work ($fstype)"

mkdir -p "$work/src"
payload="$work/src/payload.bin"
t0=$(date +%s%N)
head -c "$size_bytes" /dev/urandom >"$payload"
echo "   generated in $(((($(date +%s%N) - t0)) / 1000000)) ms"

for format in $FORMATS; do
    "$PYTHON" "$driver" create "$payload" "$work/$format.torrent" --format "$format" \
        --piece-size "$piece_bytes" >/dev/null || die "libtorrent could not create the $format torrent"
done

# Waits until the process uses (almost) no CPU over half a second: its data check is over.
wait_idle() {
    local pid=$1 before after deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        before=$(cpu_ticks "$pid") || return 1
        sleep 0.5
        after=$(cpu_ticks "$pid") || return 1
        # Clock ticks are 1/100 s: at most 5 % of one core.
        ((after - before <= 2)) && return 0
    done
    return 1
}

start_seeder() {
    local client=$1 torrent=$2 log=$3 ready
    case $client in
    libtorrent)
        "$PYTHON" "$driver" seed "$torrent" --save-path "$work/src" --listen 127.0.0.1:0 \
            --timeout "$TIMEOUT" --status-interval 5 "${lt_flags[@]}" >"$log" 2>&1 &
        seeder_pid=$!
        ready=$(wait_line "$seeder_pid" "$log" 'ready port=[0-9]+') || return 1
        seeder_port=${ready#ready port=}
        ;;
    seedbank)
        "$seedbank" seed "$torrent" --data "$work/src" --listen 127.0.0.1:0 >"$log" 2>&1 &
        seeder_pid=$!
        ready=$(wait_line "$seeder_pid" "$log" 'listening on [0-9.]+:[0-9]+') || return 1
        seeder_port=${ready##*:}
        # Printed once the data check has passed.
        wait_line "$seeder_pid" "$log" '^seeding ' >/dev/null || return 1
        ;;
    esac
    wait_idle "$seeder_pid"
}

stop_seeder() {
    kill "$seeder_pid" 2>/dev/null || true
    wait "$seeder_pid" 2>/dev/null || true
    seeder_pid=""
}

run_download() {
    local client=$1 torrent=$2 dest=$3 log=$4
    case $client in
    libtorrent)
        timeout "$TIMEOUT" "$PYTHON" "$driver" fetch "$torrent" --save-path "$dest" \
            --listen 127.0.0.1:0 --peer "127.0.0.1:$seeder_port" --timeout "$TIMEOUT" \
            --status-interval 5 "${lt_flags[@]}" >"$log" 2>&1
        ;;
    seedbank)
        timeout "$TIMEOUT" "$seedbank" fetch "$torrent" -o "$dest" --listen 127.0.0.1:0 \
            --peer "127.0.0.1:$seeder_port" >"$log" 2>&1
        ;;
    esac
}

declare -A results
for format in $FORMATS; do
    for client in $CLIENTS; do
        for run in $(seq 1 "$RUNS"); do
            torrent="$work/$format.torrent"
            dest="$work/dl"
            rm -rf "$dest"
            mkdir -p "$dest"
            seed_log="$work/seed-$client-$format-$run.log"
            fetch_log="$work/fetch-$client-$format-$run.log"
            if ! start_seeder "$client" "$torrent" "$seed_log"; then
                echo "-- $client seeder ($format) did not become ready:" >&2
                tail -n 30 "$seed_log" >&2
                stop_seeder
                results[$format,$client]+="fail "
                continue
            fi
            t0=$(date +%s%N)
            status=0
            run_download "$client" "$torrent" "$dest" "$fetch_log" || status=$?
            t1=$(date +%s%N)
            stop_seeder
            if ((status != 0)); then
                echo "-- $client -> $client $format run $run: downloader failed (exit $status):" >&2
                tail -n 30 "$fetch_log" >&2
                results[$format,$client]+="fail "
                continue
            fi
            if ! cmp -s "$payload" "$dest/payload.bin"; then
                echo "-- $client -> $client $format run $run: downloaded file differs from the source" >&2
                results[$format,$client]+="fail "
                continue
            fi
            rate=$(awk -v b="$size_bytes" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f", b / 1e6 / (ns / 1e9) }')
            secs=$(awk -v ns="$((t1 - t0))" 'BEGIN { printf "%.2f", ns / 1e9 }')
            # The downloader's own measure (after its start-up and empty-directory check), for reference.
            inner=$(grep -oE 'done seconds=[0-9.]+|complete: [0-9]+ bytes in [0-9.]+ s' "$fetch_log" |
                grep -oE '[0-9.]+( s)?$' | tr -d ' s' || true)
            echo "   $format $client run $run: $secs s, $rate MB/s${inner:+ (in-process: $inner s)}"
            results[$format,$client]+="$rate "
        done
        rm -rf "$work/dl"
    done
done

echo
echo "== results: MB/s (10^6 bytes/s), $SIZE_MIB MiB, piece $PIECE_KIB KiB, loopback TCP"
printf '%-8s %-12s %-40s %10s\n' format client runs median
for format in $FORMATS; do
    for client in $CLIENTS; do
        runs=${results[$format,$client]:-}
        printf '%-8s %-12s %-40s %10s\n' "$format" "$client" "${runs% }" "$(median "$runs")"
    done
done
if [[ " $CLIENTS " == *" seedbank "* && " $CLIENTS " == *" libtorrent "* ]]; then
    echo
    printf '%-8s %s\n' format "seedbank / libtorrent (medians)"
    for format in $FORMATS; do
        sb=$(median "${results[$format,seedbank]:-}")
        lt=$(median "${results[$format,libtorrent]:-}")
        if [[ -n $sb && -n $lt ]]; then
            printf '%-8s %s\n' "$format" "$(awk -v a="$sb" -v b="$lt" 'BEGIN { printf "%.2f", a / b }')"
        else
            printf '%-8s %s\n' "$format" "n/a (a client had no successful run)"
        fi
    done
fi
