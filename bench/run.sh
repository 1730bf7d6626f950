#!/usr/bin/env bash
# hedge vs Unbound, side by side on loopback. See bench/README.md.
#
#   bench/run.sh            full run: 10 s per dnsperf run, the 1M synthetic list and the real data
#   bench/run.sh --quick    3 s runs, the 1M synthetic list only
#
# Other options are passed to bench/bench.py (--seconds N, --data DIR, --no-stats-off).
# Real data comes from ${HEDGE_DATA:-../shared/data} (relative to the repository root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cd "$repo"

if [ "$(id -u)" -ne 0 ]; then
    echo "bench: needs root (the fake internet binds port 53 on loopback; apt-get installs)" >&2
    exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "bench: needs 2 cores (server on core 0, dnsperf on core 1)" >&2
    exit 2
fi

"$here/install-deps.sh"
command -v python3 >/dev/null || { echo "bench: python3 is required" >&2; exit 2; }

echo "bench: building hedge, the fake internet and dump-names (release)"
cargo build --release --quiet -p hedge -p hedge-testkit --bin hedge --bin fake-internet
cargo build --release --quiet -p hedge-lists --example dump-names
# Write the build's dirty pages out now rather than during the first measurements, where
# their interrupts would be charged to whichever server runs (tick-based CPU accounting).
sync

export HEDGE_DATA="${HEDGE_DATA:-$(cd "$repo/.." && pwd)/shared/data}"
exec python3 "$here/bench.py" --data "$HEDGE_DATA" "$@"
