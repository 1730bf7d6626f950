#!/usr/bin/env bash
# Runs the fuzz targets with the limits that make unbounded memory and hangs failures.
#   fuzz/run.sh smoke [SECONDS]     every target for SECONDS each (default 20), as CI does,
#                                   built with --dev (no optimisation: it builds in a fraction
#                                   of the release build's time, and still runs thousands of
#                                   inputs a target)
#   fuzz/run.sh TARGET [RUNS [LIBFUZZER FLAGS]]   one target for RUNS inputs (default 10000000)
# One fuzzer process at a time (-workers=1): the machine's cores are shared. Needs cargo-fuzz
# (`cargo install --locked cargo-fuzz`); builds with `-s none` (libFuzzer's coverage only:
# the sanitizers need a nightly compiler, and hedge's own crates deny unsafe code).
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(packet_parse packet_handle list_formats list_compile index_load config_load)

# Longest input per target: a UDP packet with room to spare, list and config files a few
# times the largest seed, index files three times the largest seed.
max_len() {
    case "$1" in
        packet_parse | packet_handle) echo 4096 ;;
        index_load) echo 65536 ;;
        *) echo 16384 ;;
    esac
}

# Past 1 GiB of RSS or 5 s on one input, libFuzzer stops and saves the input as a failure.
# PROFILE is empty (release, the default of cargo fuzz) or --dev.
PROFILE=
run() {
    local target=$1
    shift
    [ -d "corpus/$target" ] || ./seed.sh
    nice -n 10 cargo fuzz run $PROFILE -s none "$target" "corpus/$target" -- \
        -rss_limit_mb=1024 -timeout=5 -max_len="$(max_len "$target")" \
        -workers=1 -print_final_stats=1 "$@"
}

case "${1:-}" in
    smoke)
        seconds=${2:-20}
        PROFILE=--dev
        nice -n 10 cargo fuzz build $PROFILE -s none
        for t in "${TARGETS[@]}"; do
            run "$t" -max_total_time="$seconds"
        done
        ;;
    packet_parse | packet_handle | list_formats | list_compile | index_load | config_load)
        run "$1" -runs="${2:-10000000}" "${@:3}"
        ;;
    *)
        echo "usage: $0 smoke [SECONDS] | $0 TARGET [RUNS]   (targets: ${TARGETS[*]})" >&2
        exit 2
        ;;
esac
