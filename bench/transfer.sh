#!/usr/bin/env bash
# Transfer benchmark: one seeder, one downloader, one file over loopback TCP.
#
# Moves the same random file (1 GiB by default) libtorrent -> libtorrent and seedbank -> seedbank, for v1
# and hybrid torrents, RUNS times each, and prints MB/s per run (MB = 10^6 bytes), the median per client
# and format, and the ratio seedbank / libtorrent. Both clients use the same .torrent (made by libtorrent).
#
# seedbank-paid is seedbank -> seedbank with both sides paying and earning (`--wallet FILE --hub URL`):
# the downloader signs an `sb_receipt` receipt per verified piece, the seeder serves at most the
# collective's debt threshold beyond what is receipted, and settles with the hub once more when it
# stops. Set up once, outside the timing: a hub with a ledger on loopback (template terms: 1 token/GiB,
# 5 % fee, debt_threshold_bytes 4 MiB, so the flow control is exercised: at most four 1 MiB pieces
# ahead of the receipts), the seeder's wallet a member, the downloader's funded for every run, and per
# format a private copy of the libtorrent-made .torrent (same file and pieces; the hub indexes only
# private torrents) published to it. Wallets use the light key derivation, so unlocking the wallet (in
# the downloader's timing) costs ~30 ms, not the ~0.5 s a standard keystore takes. Each run checks
# the seeder settled exactly the file's bytes; at the end the ledger must show the downloader charged
# for every run. The ratio seedbank-paid / seedbank is the cost of receipts.
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
#   CLIENTS="libtorrent seedbank seedbank-paid"
#   LT_PRESET=default  or high-performance (libtorrent's high_performance_seed() settings on both sides)
#   LT_TICK_MS=100     libtorrent's tick interval. libtorrent connects new peers only on a tick; its
#                      default of 500 ms would add up to half a second of idle start to every run, which
#                      is latency, not throughput. Set 500 to measure libtorrent exactly as shipped.
#   BENCH_DIR=/var/tmp where the temporary data lives (must be a disk, not tmpfs)
#   PYTHON=/usr/bin/python3 a Python that can `import libtorrent` (Debian: python3-libtorrent)
#   TIMEOUT=600        seconds before a single transfer is abandoned
#   DEBT_THRESHOLD_KIB=16384 seedbank-paid's debt_threshold_bytes / 1024 (the template's 16 MiB)
#   (seedbank-paid also needs curl, to publish the torrents to its hub)
set -euo pipefail

RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
PIECE_KIB=${PIECE_KIB:-1024}
FORMATS=${FORMATS:-"v1 hybrid"}
CLIENTS=${CLIENTS:-"libtorrent seedbank seedbank-paid"}
LT_PRESET=${LT_PRESET:-default}
LT_TICK_MS=${LT_TICK_MS:-100}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
PYTHON=${PYTHON:-/usr/bin/python3}
TIMEOUT=${TIMEOUT:-600}
DEBT_THRESHOLD_KIB=${DEBT_THRESHOLD_KIB:-16384}
WAIT_SECS=$TIMEOUT

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
driver="$root/crates/cli/tests/support/libtorrent_driver.py"
seedbank="${CARGO_TARGET_DIR:-$root/target}/release/seedbank"
size_bytes=$((SIZE_MIB * 1024 * 1024))
piece_bytes=$((PIECE_KIB * 1024))

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[[ $DEBT_THRESHOLD_KIB =~ ^[1-9][0-9]*$ ]] || die "DEBT_THRESHOLD_KIB must be a positive integer"
for client in $CLIENTS; do
    case $client in
    libtorrent | seedbank | seedbank-paid) ;;
    *) die "unknown client $client in CLIENTS (libtorrent, seedbank, seedbank-paid)" ;;
    esac
done
paid=false
[[ " $CLIENTS " == *" seedbank-paid "* ]] && paid=true
if $paid; then
    command -v curl >/dev/null || die "seedbank-paid needs curl"
fi
"$PYTHON" -c 'import libtorrent' 2>/dev/null ||
    die "$PYTHON cannot import libtorrent; install it with: apt-get install -y python3-libtorrent"
[[ $LT_TICK_MS =~ ^[1-9][0-9]*$ ]] || die "LT_TICK_MS must be a positive integer"
lt_flags=(--tick-interval-ms "$LT_TICK_MS")
case $LT_PRESET in
default) ;;
high-performance) lt_flags+=(--high-performance) ;;
*) die "LT_PRESET must be default or high-performance" ;;
esac

if [[ " $CLIENTS " == *" seedbank "* ]] || $paid; then
    echo "== building seedbank (release)"
    (cd "$root" && cargo build --release -p cli)
    [[ -x $seedbank ]] || die "no binary at $seedbank"
fi

work=$(mktemp -d "$BENCH_DIR/seedbank-bench.XXXXXX")
seeder_pid=""
hub_pid=""
cleanup() {
    local pid
    for pid in $seeder_pid $hub_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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
echo "   generated in $((($(date +%s%N) - t0) / 1000000)) ms"

for format in $FORMATS; do
    "$PYTHON" "$driver" create "$payload" "$work/$format.torrent" --format "$format" \
        --piece-size "$piece_bytes" >/dev/null || die "libtorrent could not create the $format torrent"
    if $paid; then
        "$PYTHON" "$driver" create "$payload" "$work/$format-private.torrent" --format "$format" \
            --piece-size "$piece_bytes" --private >/dev/null ||
            die "libtorrent could not create the private $format torrent"
    fi
done

# The collective seedbank-paid pays through: hub, ledger, the two wallets, the torrents published.
paid_dir="$work/paid"
hub_url=""
seller=""
buyer=""
buyer_tokens=0
setup_collective() {
    local line passkey format formats
    export SEEDBANK_PASSWORD="bench wallet" SEEDBANK_OPERATOR_PASSWORD="bench operator"
    mkdir -p "$paid_dir/seller" "$paid_dir/buyer"
    # Receipts are kept beside the wallet: one directory each.
    seller=$("$seedbank" wallet new --light --wallet "$paid_dir/seller/wallet.json" \
        2>>"$paid_dir/init.log") || return 1
    buyer=$("$seedbank" wallet new --light --wallet "$paid_dir/buyer/wallet.json" \
        2>>"$paid_dir/init.log") || return 1
    # At 1 token/GiB: every run's data, and a token to spare.
    formats=$(wc -w <<<"$FORMATS")
    buyer_tokens=$(((RUNS * formats * SIZE_MIB + 1023) / 1024 + 1))
    # The template's terms (`seedbank hub init` without a genesis file; the debt threshold is the
    # template's 4 MiB unless DEBT_THRESHOLD_KIB says otherwise), buy-in to let the seller join on its
    # genesis stake, and the two wallets' allocations.
    cat >"$paid_dir/genesis.toml" <<EOF
name = "Transfer bench"
symbol = "BENCH"
join = "buy-in"
min_stake = "100"
max_lock_days = 365
price_per_gib = "1"
fee_bps = 500
fee_burn_bps = 5000
debt_threshold_bytes = $((DEBT_THRESHOLD_KIB * 1024))

[[allocations]]
account = "$seller"
staked = "100"

[[allocations]]
account = "$buyer"
liquid = "$buyer_tokens"
EOF
    "$seedbank" hub init --data-dir "$paid_dir/hub" --genesis "$paid_dir/genesis.toml" --light-key \
        >"$paid_dir/init.log" 2>&1 || return 1
    "$seedbank" hub --data-dir "$paid_dir/hub" --listen 127.0.0.1:0 >"$paid_dir/hub.log" 2>&1 &
    hub_pid=$!
    line=$(wait_line "$hub_pid" "$paid_dir/hub.log" 'serving on http://[0-9.]+:[0-9]+') || return 1
    hub_url=${line#serving on }
    passkey=$("$seedbank" wallet join bench-seeder --wallet "$paid_dir/seller/wallet.json" \
        --hub "$hub_url" 2>>"$paid_dir/init.log") || return 1
    for format in $FORMATS; do
        curl -fsS -X POST --data-binary "@$work/$format-private.torrent" \
            -H "Authorization: Bearer $passkey" \
            "$hub_url/api/v1/torrents?name=bench-$format&category=bench" >>"$paid_dir/init.log" ||
            return 1
    done
}

if $paid; then
    t0=$(date +%s%N)
    if ! setup_collective; then
        cat "$paid_dir/init.log" "$paid_dir/hub.log" >&2 2>/dev/null || true
        die "could not set up the collective for seedbank-paid"
    fi
    echo "== collective for seedbank-paid: hub $hub_url, 1 BENCH/GiB, fee 5 %," \
        "debt threshold $DEBT_THRESHOLD_KIB KiB, downloader funded with $buyer_tokens BENCH" \
        "(set up in $((($(date +%s%N) - t0) / 1000000)) ms)"
fi

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
    seedbank | seedbank-paid)
        if [[ $client == seedbank ]]; then
            "$seedbank" seed "$torrent" --data "$work/src" --listen 127.0.0.1:0 >"$log" 2>&1 &
        else
            # info: its settlement rounds; engine::swarm at debug: when the downloader has gone.
            RUST_LOG=info,engine::swarm=debug "$seedbank" seed "$torrent" --data "$work/src" \
                --listen 127.0.0.1:0 --wallet "$paid_dir/seller/wallet.json" --hub "$hub_url" \
                >"$log" 2>&1 &
        fi
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
    seedbank-paid)
        timeout "$TIMEOUT" "$seedbank" fetch "$torrent" -o "$dest" --listen 127.0.0.1:0 \
            --peer "127.0.0.1:$seeder_port" --wallet "$paid_dir/buyer/wallet.json" \
            --hub "$hub_url" >"$log" 2>&1
        ;;
    esac
}

# After a paid run: waits (outside the timing) until the seeder has seen the downloader leave, so it
# has read the last receipt, which the downloader sends before it closes.
wait_last_receipt() {
    WAIT_SECS=10 wait_line "$seeder_pid" "$1" 'peer disconnected' >/dev/null ||
        echo "-- the seeder did not see the downloader leave" >&2
}

# Bytes the seeder's settlement rounds settled, from its log (after it stopped: the last round runs
# on stop).
settled_bytes() {
    local total=0 bytes
    # In shell arithmetic: awk would print sums past 2^31 in floating point.
    while read -r bytes; do
        total=$((total + bytes))
    done < <(grep -oE 'settled receipts=[0-9]+ bytes=[0-9]+' "$1" | grep -oE '[0-9]+$')
    echo "$total"
}

declare -A results
paid_runs=0
paid_bytes=0
for format in $FORMATS; do
    for client in $CLIENTS; do
        for run in $(seq 1 "$RUNS"); do
            torrent="$work/$format.torrent"
            [[ $client == seedbank-paid ]] && torrent="$work/$format-private.torrent"
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
            paid_note=""
            if [[ $client == seedbank-paid ]]; then
                ((status == 0)) && wait_last_receipt "$seed_log"
                stop_seeder
                settled=$(settled_bytes "$seed_log")
                chokes=$(grep -c 'choking: unpaid data reached its allowance' "$seed_log" || true)
                paid_runs=$((paid_runs + 1))
                paid_bytes=$((paid_bytes + settled))
                paid_note="; settled $settled bytes, $chokes debt choke(s)"
                if ((settled != size_bytes)); then
                    echo "-- seedbank-paid $format run $run: the seeder settled $settled bytes," \
                        "not $size_bytes:" >&2
                    tail -n 20 "$seed_log" >&2
                fi
            else
                stop_seeder
            fi
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
            echo "   $format $client run $run: $secs s, $rate MB/s${inner:+ (in-process: $inner s)}$paid_note"
            results[$format,$client]+="$rate "
        done
        rm -rf "$work/dl"
    done
done

echo
echo "== results: MB/s (10^6 bytes/s), $SIZE_MIB MiB, piece $PIECE_KIB KiB, loopback TCP"
printf '%-8s %-14s %-40s %10s\n' format client runs median
for format in $FORMATS; do
    for client in $CLIENTS; do
        runs=${results[$format,$client]:-}
        printf '%-8s %-14s %-40s %10s\n' "$format" "$client" "${runs% }" "$(median "$runs")"
    done
done

# The ratio of two clients' medians per format, when both ran.
ratios() {
    local a=$1 b=$2 format ma mb
    [[ " $CLIENTS " == *" $a "* && " $CLIENTS " == *" $b "* ]] || return 0
    echo
    printf '%-8s %s\n' format "$a / $b (medians)"
    for format in $FORMATS; do
        ma=$(median "${results[$format,$a]:-}")
        mb=$(median "${results[$format,$b]:-}")
        if [[ -n $ma && -n $mb ]]; then
            printf '%-8s %s\n' "$format" "$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
        else
            printf '%-8s %s\n' "$format" "n/a (a client had no successful run)"
        fi
    done
}
ratios seedbank libtorrent
ratios seedbank-paid seedbank

# What the ledger says the paid runs moved: the downloader's spending must be exactly the price of
# the bytes the seeder settled, which must be the file's size for every paid run.
if $paid; then
    echo
    echo "== ledger after $paid_runs seedbank-paid run(s) ($hub_url)"
    "$PYTHON" - "$hub_url" "$seller" "$buyer" "$buyer_tokens" "$paid_bytes" "$((paid_runs * size_bytes))" <<'EOF' ||
import json, sys, urllib.request

url, seller, buyer, tokens, settled, expected = sys.argv[1:]
get = lambda path: json.load(urllib.request.urlopen(url + path, timeout=10))
info = get("/api/v1/ledger")
one = 10 ** info["decimals"]

def fmt(units):
    whole = f"{units // one}.{units % one:0{info['decimals']}d}".rstrip("0").rstrip(".")
    return f"{whole} {info['symbol']}"

per_byte = int(info["price_per_gib"]) >> 30
spent = int(tokens) * one - int(get(f"/api/v1/accounts/{buyer}")["balance"])
earned = int(get(f"/api/v1/accounts/{seller}")["balance"])
charged_bytes, rest = divmod(spent, per_byte)
fee = spent - earned
print(f"   settled by the seeder (its logs): {int(settled)} bytes;"
      f" expected {int(expected)} (runs x file size)")
print(f"   downloader charged {fmt(spent)} = {charged_bytes} bytes x {per_byte} base units/byte"
      + (f" + {rest} (not a whole number of bytes!)" if rest else ""))
print(f"   seeder earned {fmt(earned)}; fee {fmt(fee)} ({fee * 100 / spent if spent else 0:.2f} %),"
      f" burned {fmt(int(info['burned']))}, stakers' pool {fmt(int(info['stakers_pool']))}")
ok = charged_bytes == int(settled) == int(expected) and rest == 0 and earned > 0
print("   ledger " + ("OK: every paid run was paid for in full" if ok else "MISMATCH"))
sys.exit(0 if ok else 1)
EOF
        echo "-- the ledger does not show every paid run paid for" >&2
fi
