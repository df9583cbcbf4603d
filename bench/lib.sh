# Helpers shared by the benchmark scripts (sourced, not run).

die() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

# CPU ticks (user + system) a process has used so far.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}

# Waits for a regular expression in a log file, as long as the process lives; prints the first match.
# Gives up after WAIT_SECS (default 60).
wait_line() {
    local pid=$1 log=$2 regex=$3 deadline=$((SECONDS + ${WAIT_SECS:-60})) line
    while ((SECONDS < deadline)); do
        line=$(grep -m1 -oE "$regex" "$log" || true)
        if [[ -n $line ]]; then
            echo "$line"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# Median of the numbers in a space-separated list, printed with printf format $2 (default %.1f).
median() {
    local format=${2:-%.1f}
    tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -n |
        awk -v f="$format" '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) printf f, v[(NR + 1) / 2]; else printf f, (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Warns when DIR is in memory: durable-write figures from tmpfs mean nothing.
warn_if_tmpfs() {
    fstype=$(stat -f -c %T "$1")
    if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
        echo "warning: $1 is on $fstype; set BENCH_DIR to a directory on disk" >&2
    fi
}

# "N CPUs, <model>, kernel <release>" for the run's header.
machine() {
    echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
}
