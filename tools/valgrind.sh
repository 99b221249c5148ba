#!/usr/bin/env bash
# valgrind memcheck over a quick subset of goro's integration tests: abort, panics,
# shutdown, wakes, timers and TCP (an echo, end-of-stream, split halves, shutdown with
# pending I/O, the cooperative budget).
#
# Fails on any memcheck error (invalid read or write, use of uninitialised memory, bad
# free, ...) and on any definitely-lost byte at exit (--errors-for-leak-kinds=definite);
# "possibly lost" and "still reachable" blocks are the test harness's and std's threads
# and are not counted. Installs valgrind with apt-get if it is missing and we are root
# (CI runs as root on a fresh Debian machine).
#
# Tests are chosen by name. Left out on purpose: tests that assert wall-clock bounds
# in milliseconds (lateness, latency, "at once") or spin tasks against a foreign thread.
# valgrind runs one thread at a time, 20-50x slower, so they measure valgrind rather than
# goro. For example time::dropped_sleeps_never_fire drops 30 ms sleeps that valgrind makes
# older than 30 ms before the drop, and the first tick of an interval takes over 5 ms.
# Takes about a minute on 2 cores.
#
# Usage: tools/valgrind.sh            (from anywhere in the repository)
# Logs:  target/valgrind/<test binary>.<pid>.log
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing valgrind"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
    else
        echo "valgrind is not installed and cannot be (not root, or no apt-get)" >&2
        exit 1
    fi
fi

# binary name -> the tests of it to run (exact names).
declare -A TESTS=(
    [abort]="abort_a_task_mid_poll_from_a_foreign_thread abort_a_task_never_polled
        abort_finished_task_keeps_its_result abort_idle_task_drops_its_future_promptly
        abort_idle_task_from_another_task_and_from_a_foreign_thread abort_running_task
        abort_spawn_blocking_before_it_starts task_aborts_itself_while_running"
    [panic]="detached_panicking_task_does_not_kill_the_runtime
        panic_in_a_task_is_a_join_error_with_its_payload
        panic_in_block_on_propagates_and_runtime_still_works
        panic_in_spawn_blocking_is_a_join_error runtime_goes_on_after_many_panics"
    [shutdown]="destructors_that_wake_and_spawn_during_shutdown
        drop_with_pending_tasks_drops_each_future_once join_handle_cycles_do_not_leak
        join_handles_of_a_dropped_runtime_can_be_awaited_on_another
        many_runtimes_created_and_dropped
        spawn_on_the_handle_of_a_dropped_runtime task_holding_a_handle_to_its_own_runtime
        wakes_racing_the_drop"
    [wake]="remote_spawns_and_wakes_while_processors_go_to_sleep
        task_woken_while_running_runs_again wake_from_a_foreign_thread_into_an_idle_runtime
        wake_storm_from_many_threads_loses_no_wakeup wakers_outlive_their_finished_task"
    [time]="ten_thousand_timers_all_fire_none_early timeout_both_ways
        pending_timers_are_released_at_shutdown"
    [net_tcp]="echo_100_clients_x_100_round_trips eof_reads_return_zero
        split_halves_in_two_tasks shutdown_releases_pending_operations
        cooperative_budget_bounds_a_read_loop cooperative_budget_bounds_a_write_loop"
)

echo "== building the test binaries"
test_args=()
for name in "${!TESTS[@]}"; do
    test_args+=(--test "$name")
done
# cargo names each binary on stderr: "Executable tests/abort.rs (target/release/deps/abort-...)".
build_log=$(cargo test -p goro --release "${test_args[@]}" --no-run 2>&1) || {
    echo "$build_log" >&2
    exit 1
}

logs=target/valgrind
rm -rf "$logs"
mkdir -p "$logs"
failed=()
for name in $(printf '%s\n' "${!TESTS[@]}" | sort); do
    binary=$(echo "$build_log" | sed -n "s|.*Executable tests/$name\.rs (\(.*\))|\1|p")
    if [ -z "$binary" ]; then
        echo "no test binary for $name in cargo's output" >&2
        exit 1
    fi
    # shellcheck disable=SC2086 # the test names are words
    set -- ${TESTS[$name]}
    echo "== memcheck: $name ($# tests)"
    started=$SECONDS
    # The tests run from runtime/, as cargo test runs them. --fair-sched=yes: valgrind runs one
    # thread at a time, and by default its lock goes back to a thread that releases it for a
    # system call; a task that yields in a loop (each yield polls for I/O, a system call)
    # then starves the test's own thread for tens of seconds (shutdown's
    # join_handle_cycles_do_not_leak hung 1 run in 3; 0 in 8 with a fair lock).
    if ! (cd runtime && valgrind --tool=memcheck --fair-sched=yes --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite --errors-for-leak-kinds=definite \
        --log-file="../$logs/$name.%p.log" "../$binary" --exact --test-threads=1 "$@"); then
        failed+=("$name")
    fi
    summary=$(grep -h -E "ERROR SUMMARY|definitely lost:" "$logs/$name".*.log | sed 's/^==[0-9]*== *//')
    echo "$summary" | sed "s/^/   /"
    echo "   ($((SECONDS - started)) s)"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "valgrind: errors, definite leaks or failed tests in: ${failed[*]} (logs in $logs)" >&2
    for name in "${failed[@]}"; do
        cat "$logs/$name".*.log >&2
    done
    exit 1
fi
echo "valgrind: no errors, no definitely-lost bytes"
