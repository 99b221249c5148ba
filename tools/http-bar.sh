#!/usr/bin/env bash
# The bar measurement of issue 3: HTTP/1.1 keep-alive "hello" over loopback, goro vs tokio.
#
#   tools/http-bar.sh                    # 10 s per config, 64 connections, 3 rounds
#   DURATION=5 ROUNDS=1 tools/http-bar.sh
#
# For each pair of configs -- goro with 1 processor vs tokio's current_thread runtime, and
# goro with 2 processors vs tokio's multi_thread runtime with 2 workers -- it starts
# `http-hello` (tools/src/bin/http-hello.rs) with `taskset`: on CPU 1 for the 1-worker
# configs, on CPUs 0-1 for the 2-worker ones. The load generator, `wrk -t1 -c64`, always runs
# on CPU 0 (`taskset -c 0`), so at procs=2 it shares CPU 0 with the server. It records
# requests/sec as wrk reports them and the server's CPU time per request: the process's
# utime+stime from /proc/PID/stat (all threads), read just before and just after the timed
# wrk run, divided by the requests wrk completed. Each config gets a 2 s wrk warm-up first.
# With ROUNDS > 1 the configs of a pair alternate order (ABBA) and the table shows medians:
# on this 2-vCPU VM a single 10 s run of the same config varies by +-30% (both sides are
# mostly idle, waiting on cross-CPU wake-ups), so one round proves little. Each pair also
# prints its per-round ratios (goro / tokio of two runs back to back) and their median,
# which drift of the machine's speed from round to round does not move.
#
# Loopback only (127.0.0.1), bounded in time: about (DURATION + WARMUP + 1) s per config per
# round, so about 2.6 minutes with the defaults.
# Installs wrk with apt-get if it is missing (needs root). Prints one table; exits 0 whether
# or not goro meets the bar (the table says).
#
# Environment: DURATION (s, default 10), CONNECTIONS (default 64), ROUNDS (default 3),
# WARMUP (s, default 2), PORT (first port, default 18080), CARGO_TARGET_DIR (default target).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
PORT=${PORT:-18080}
TARGET=${CARGO_TARGET_DIR:-target}

log() { echo "http-bar: $*" >&2; }

if ! command -v wrk >/dev/null; then
    log "wrk not found; installing it with apt-get"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
command -v taskset >/dev/null || { log "taskset (util-linux) is required"; exit 1; }
if [ "$(nproc --all)" -lt 2 ]; then
    log "needs at least 2 CPUs (CPU 0 for wrk, CPU 1 for the server)"; exit 1
fi

log "building http-hello (release)"
CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p goro-tools --bin http-hello
BIN="$TARGET/release/http-hello"
TCK=$(getconf CLK_TCK)

# Percent of all CPU time spent not idle over one second (other work on the machine).
cpu_busy_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    echo "$a $b" | awk '{ t1 = i1 = t2 = i2 = 0
        for (k = 2; k <= 9; k++) t1 += $k; i1 = $5 + $6
        for (k = 13; k <= 20; k++) t2 += $k; i2 = $16 + $17
        printf "%.0f", (t2 > t1) ? 100 * (1 - (i2 - i1) / (t2 - t1)) : 0 }'
}
BUSY_BEFORE=$(cpu_busy_pct)
[ "$BUSY_BEFORE" -gt 10 ] && log "warning: the CPUs were ${BUSY_BEFORE}% busy before the run: figures will be noisy"

# utime+stime of a process, in clock ticks (fields 14 and 15; the command name, field 2,
# is cut off first in case it holds spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap cleanup EXIT

# run_config NAME CPUS PORT ARGS... -> prints "rps cpu_us_per_request requests errors"
run_config() {
    local name=$1 cpus=$2 port=$3
    shift 3
    trap cleanup EXIT # this runs in a subshell: stop the server however it ends
    local out
    out=$(mktemp)
    taskset -c "$cpus" "$BIN" --addr "127.0.0.1:$port" "$@" >"$out" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 100); do
        grep -q "^listening on" "$out" && break
        kill -0 "$SERVER_PID" 2>/dev/null || { log "$name: server died: $(cat "$out")"; exit 1; }
        sleep 0.1
    done
    grep -q "^listening on" "$out" || { log "$name: server did not start: $(cat "$out")"; exit 1; }
    local url="http://127.0.0.1:$port/"
    taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null
    local before after w
    before=$(cpu_ticks "$SERVER_PID")
    w=$(taskset -c 0 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$url")
    after=$(cpu_ticks "$SERVER_PID")
    cleanup
    rm -f "$out"
    local requests rps errors
    requests=$(echo "$w" | awk '/requests in/ { print $1 }')
    rps=$(echo "$w" | awk '/^Requests\/sec:/ { print $2 }')
    errors=$(echo "$w" | awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }')
    if [ -z "$requests" ] || [ -z "$rps" ] || [ "$requests" -eq 0 ]; then
        log "$name: wrk reported no requests:"; echo "$w" >&2; exit 1
    fi
    local cpu_us
    cpu_us=$(awk -v a="$before" -v b="$after" -v t="$TCK" -v n="$requests" \
        'BEGIN { printf "%.2f", (b - a) / t * 1e6 / n }')
    log "$name: $rps req/s, $cpu_us us CPU/request ($requests requests)${errors:+; $errors}"
    echo "$rps $cpu_us $requests ${errors:-}"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# name | cpus | http-hello args
CONFIGS=(
    "goro procs=1|1|--runtime goro --procs 1"
    "tokio current_thread|1|--runtime tokio-ct"
    "goro procs=2|0-1|--runtime goro --procs 2"
    "tokio multi_thread(2)|0-1|--runtime tokio-mt --procs 2"
)
declare -A RPS CPU ERR ROUND_RPS RATIOS
port=$PORT
for round in $(seq "$ROUNDS"); do
    for pair in 0 2; do
        order="$pair $((pair + 1))"
        [ $((round % 2)) -eq 0 ] && order="$((pair + 1)) $pair"
        for idx in $order; do
            IFS='|' read -r name cpus args <<<"${CONFIGS[$idx]}"
            # shellcheck disable=SC2086
            res=$(run_config "$name" "$cpus" "$port" $args)
            read -r rps cpu _ err <<<"$res"
            port=$((port + 1))
            RPS[$idx]="${RPS[$idx]:-}$rps "
            CPU[$idx]="${CPU[$idx]:-}$cpu "
            [ -n "$err" ] && ERR[$idx]="${ERR[$idx]:-}$err "
            ROUND_RPS[$idx]=$rps
        done
        # goro / tokio within this round: the two ran back to back, so drift of the
        # machine's speed between rounds cancels out of this ratio.
        RATIOS[$pair]="${RATIOS[$pair]:-}$(awk -v g="${ROUND_RPS[$pair]}" -v t="${ROUND_RPS[$((pair + 1))]}" 'BEGIN { printf "%.3f", g / t }') "
    done
done

echo
echo "HTTP/1.1 keep-alive hello over loopback: wrk -t1 -c$CONNECTIONS -d${DURATION}s pinned to CPU 0;"
echo "server pinned with taskset (CPU 1 for 1 worker, CPUs 0-1 for 2); ${ROUNDS} round(s)$([ "$ROUNDS" -gt 1 ] && echo ", medians");"
echo "CPU us/req = server utime+stime during the timed run / requests. $(nproc --all) CPUs, $(uname -r)."
echo "CPUs busy with other work in the second before the run: ${BUSY_BEFORE}% (anything else running skews these figures)."
echo
printf '%-24s %6s %14s %12s\n' "server" "cpus" "requests/s" "CPU us/req"
printf '%s\n' "----------------------------------------------------------"
for idx in 0 1 2 3; do
    IFS='|' read -r name cpus _ <<<"${CONFIGS[$idx]}"
    r=$(echo "${RPS[$idx]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${CPU[$idx]}" | tr ' ' '\n' | grep . | median)
    MED_RPS[$idx]=$r
    printf '%-24s %6s %14.0f %12.2f\n' "$name" "$cpus" "$r" "$c"
    [ "$idx" -eq 1 ] && echo
done
printf '%s\n' "----------------------------------------------------------"
for pair in 0 2; do
    g=${MED_RPS[$pair]} t=${MED_RPS[$((pair + 1))]}
    IFS='|' read -r gname _ <<<"${CONFIGS[$pair]}"
    IFS='|' read -r tname _ <<<"${CONFIGS[$((pair + 1))]}"
    verdict=$(awk -v g="$g" -v t="$t" 'BEGIN { printf "%.3f %s", g / t, (g >= t ? "meets the bar" : "BELOW the bar") }')
    echo "$gname / $tname requests/s: $verdict"
    r=$(echo "${RATIOS[$pair]}" | tr ' ' '\n' | grep . | median)
    echo "    per-round ratios: ${RATIOS[$pair]}(median $r)"
done
for idx in 0 1 2 3; do
    if [ -n "${ERR[$idx]:-}" ]; then
        IFS='|' read -r name _ <<<"${CONFIGS[$idx]}"
        echo "note: $name: wrk reported: ${ERR[$idx]}"
    fi
done
