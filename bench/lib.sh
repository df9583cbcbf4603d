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
