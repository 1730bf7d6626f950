#!/usr/bin/env bash
# Installs what the benchmark needs, if missing: unbound, dnsperf, dig (bind9-dnsutils),
# perf (linux-perf, optional). Idempotent: installs nothing when everything is present.
set -euo pipefail
need=()
command -v unbound >/dev/null 2>&1 || need+=(unbound)
command -v unbound-control >/dev/null 2>&1 || need+=(unbound)
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if [ "${#need[@]}" -eq 0 ]; then
    echo "bench: unbound, dnsperf, dig and taskset already installed"
    exit 0
fi
# dedupe
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "bench: installing Debian packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package enables and starts unbound.service on port 53; the benchmark runs its
# own instance, so stop the system one if it got started (ignore failures: no systemd here).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet unbound 2>/dev/null; then
    echo "bench: stopping the system unbound.service started by the package"
    $SUDO systemctl stop unbound || true
fi
echo "bench: installed ${need[*]}"
