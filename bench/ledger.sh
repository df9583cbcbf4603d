#!/usr/bin/env bash
# Ledger benchmark: durable signed transfers a second through the ledger's group commit, against
# plain SQLite committing one transfer at a time on the same disk; receipt signature checks and
# settlements a second; and how fast `verify` (a replay checking every signature) and `open` (a
# replay trusting them) get through the log a run wrote.
#
# Builds crates/ledger/examples/ledger_bench.rs in release and runs it RUNS times; each run makes a
# fresh ledger in BENCH_DIR with ACCOUNTS funded accounts, pre-signs TRANSFERS transfers and RECEIPTS
# receipts (signing is the client's cost: timed on its own, never inside a figure), then:
#   - baseline: rusqlite, WAL, synchronous=FULL, one INSERT + COMMIT per transfer (a transfer's JSON);
#   - transfers: THREADS submitter threads call `Ledger::submit`, which checks the signature on the
#     calling thread and returns once the transfer is durable; each account sends from one thread,
#     its nonces in order;
#   - receipt checks: `Signed<Receipt>::check` over the pool on one thread, then on every core;
#   - settlement: SETTLE_THREADS callers of `Ledger::settle`, BATCH receipts a call, every receipt
#     settled in full;
#   - `ledger::verify` on the closed ledger, then `Ledger::open`.
# Prints every run's figures, then the median of each (the ratio is the median of the runs' own
# ledger / SQLite ratios, each measured side by side). Fails if any transfer or receipt is refused.
#
# Environment:
#   RUNS=3              runs
#   TRANSFERS=50000     signed transfers per run
#   THREADS=64          concurrent submitters
#   ACCOUNTS=1024       funded accounts (senders)
#   RECEIPTS=16384      receipts per run (checked, then settled)
#   BATCH=256           receipts per `Ledger::settle` call
#   SETTLE_THREADS=     concurrent settle callers (default: the number of cores)
#   BASELINE=           plain SQLite commits per run (default: TRANSFERS; 0 skips the baseline)
#   BENCH_DIR=/var/tmp  where the temporary ledgers live (must be a disk, not tmpfs)
set -euo pipefail

RUNS=${RUNS:-3}
TRANSFERS=${TRANSFERS:-50000}
THREADS=${THREADS:-64}
ACCOUNTS=${ACCOUNTS:-1024}
RECEIPTS=${RECEIPTS:-16384}
BATCH=${BATCH:-256}
SETTLE_THREADS=${SETTLE_THREADS:-$(nproc)}
BASELINE=${BASELINE:-$TRANSFERS}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/ledger_bench"

for n in RUNS TRANSFERS THREADS ACCOUNTS RECEIPTS BATCH SETTLE_THREADS; do
    [[ ${!n} =~ ^[1-9][0-9]*$ ]] || die "$n must be a positive integer"
done
[[ $BASELINE =~ ^[0-9]+$ ]] || die "BASELINE must be a non-negative integer"
((ACCOUNTS >= 2)) || die "ACCOUNTS must be at least 2"
[[ -d $BENCH_DIR ]] || die "BENCH_DIR=$BENCH_DIR is not a directory"

echo "== building ledger_bench (release)"
(cd "$root" && cargo build --release -p ledger --example ledger_bench)
[[ -x $bench ]] || die "no binary at $bench"

work=$(mktemp -d "$BENCH_DIR/seedbank-ledger.XXXXXX")
cleanup() {
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

warn_if_tmpfs "$work"

echo "== machine: $(machine)"
echo "== load: $TRANSFERS transfers from $ACCOUNTS accounts on $THREADS threads, $RECEIPTS receipts" \
    "($BATCH per settle, $SETTLE_THREADS callers), baseline $BASELINE commits, $RUNS run(s); work dir $work ($fstype)"

# Figures to report: key, label, printf format of the median.
figures=(
    "signs_per_s|transfer signs/s (client side, all cores; not in any figure)|%.0f"
    "transfers_per_s|durable transfers/s (ledger, group commit)|%.0f"
    "submit_p50_ms|  submit latency p50 (ms)|%.2f"
    "submit_p99_ms|  submit latency p99 (ms)|%.2f"
    "transfer_cpu_us|  CPU per transfer, whole process (us)|%.0f"
    "transfer_writer_cpu_us|  CPU per transfer, writer thread (us)|%.1f"
    "other_cores_busy|  cores busy with other processes meanwhile|%.2f"
    "baseline_commits_per_s|SQLite commits/s (1 INSERT + COMMIT, WAL, FULL)|%.0f"
    "ratio|ledger / SQLite (median of the runs' ratios)|%.2f"
    "receipt_checks_per_s_1|receipt checks/s, 1 thread|%.0f"
    "receipt_checks_per_s_all|receipt checks/s, all cores|%.0f"
    "settled_per_s|settled receipts/s (durable)|%.0f"
    "settle_cpu_us|  CPU per settled receipt, whole process (us)|%.0f"
    "verify_secs|verify: seconds for the whole log|%.2f"
    "verify_entries_per_s|  verify entries/s|%.0f"
    "verify_signatures_per_s|  verify signatures/s|%.0f"
    "open_secs|open (replay trusting signatures): seconds|%.2f"
)
declare -A results
log=""
# A figure of the latest run.
kv() { grep -m1 "^$1=" "$log" | cut -d= -f2; }

for run in $(seq 1 "$RUNS"); do
    log="$work/run-$run.log"
    if ! "$bench" --transfers "$TRANSFERS" --threads "$THREADS" --accounts "$ACCOUNTS" \
        --receipts "$RECEIPTS" --batch "$BATCH" --settle-threads "$SETTLE_THREADS" \
        --baseline "$BASELINE" --dir "$work" >"$log" 2>&1; then
        cat "$log" >&2
        die "run $run failed"
    fi
    while IFS='=' read -r key value; do
        results[$key]+="$value "
    done < <(grep -E '^[a-z_0-9]+=[0-9.]+$' "$log")
    echo "   run $run: $(kv transfers_per_s) transfers/s (SQLite $(kv baseline_commits_per_s) commits/s," \
        "ratio $(kv ratio)), p99 $(kv submit_p99_ms) ms, receipts $(kv receipt_checks_per_s_1)/s on 1 thread," \
        "$(kv receipt_checks_per_s_all)/s on all, $(kv settled_per_s) settled/s, verify $(kv verify_secs) s" \
        "($(kv verify_entries_per_s) entries/s), others kept $(kv other_cores_busy) cores busy"
done

echo
echo "== results: medians of $RUNS run(s); $(kv verify_entries) entries and $(kv verify_signatures) signatures per log"
printf '%-62s %-36s %12s\n' figure runs median
for f in "${figures[@]}"; do
    IFS='|' read -r key label format <<<"$f"
    runs=${results[$key]:-}
    [[ -n $runs ]] || continue
    printf '%-62s %-36s %12s\n' "$label" "${runs% }" "$(median "$runs" "$format")"
done
