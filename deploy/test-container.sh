#!/usr/bin/env bash
# Container test: builds the image of ./Containerfile with podman and checks what an operator
# relies on: `hedge --version`, `hedge check-config` on the shipped /etc/hedge/hedge.toml
# (exit 0, no file-descriptor warning), that it runs as the package's `hedge` user, and the
# state folder's owner and mode. Needs root, podman and runc (.ci/run installs them), about
# 15 GB free (vfs storage copies every layer), and crates.io for the build (the build trusts
# the host's CA bundle, so a TLS-inspecting proxy the host trusts works). Every check fails
# the script; nothing is skipped.
#   deploy/test-container.sh                 base images from docker.io
#   HEDGE_DEB=target/debian/hedge_….deb deploy/test-container.sh
#       the image from a package already built (deploy/build-package.sh, as CI's
#       test-package.sh does): no Rust build in the container, only debian:bookworm-slim,
#       the package's install and the checks (here, with HEDGE_CONTAINER_BASES=local: 3.6
#       minutes in all, 1.8 of them making the stand-in base, and 2.7 GB at the peak)
#   HEDGE_CONTAINER_BASES=local deploy/test-container.sh
#       no docker.io: stand-ins for the two base images, made here: debian:bookworm-slim
#       from the Debian mirror (mmdebstrap), rust:1-bookworm as that plus the host's rustup
#       stable toolchain and cargo-deb (not made with HEDGE_DEB, which does not need it)
#   HEDGE_CONTAINER_STORE=DIR                keep podman's storage (base images, layers) in
#       DIR between runs; by default a temporary folder, removed at the end
#   HEDGE_CONTAINER_STORE=DIR HEDGE_CONTAINER_IMAGE=TAG deploy/test-container.sh
#       test an image already built in DIR
# On a 2-core machine shared with other builds the build took 41 minutes (35 of them the
# release build of hedge and its crates), and `podman run` takes minutes on vfs storage.
#
# The engine settings are the ones that work on a machine without a pure cgroup v2 hierarchy
# or CAP_SYS_RESOURCE: vfs storage, runc (crun refuses hybrid cgroups), chroot isolation for
# the build, and --ulimit values below the caller's hard limits (podman's defaults are above
# them, which runc may not set).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-container: FAIL: $*" >&2; exit 1; }
step() { echo "test-container: $*" >&2; }

[ "$(id -u)" = 0 ] || fail "run as root (podman with vfs storage and runc)"
command -v podman >/dev/null || fail "podman missing: apt-get install podman runc"
command -v runc >/dev/null || fail "runc missing: apt-get install runc"

if [ -n "${HEDGE_CONTAINER_STORE:-}" ]; then
    store=$HEDGE_CONTAINER_STORE
    mkdir -p "$store"
else
    store=$(mktemp -d /var/tmp/hedge-container.XXXXXX)
    trap 'rm -rf --one-file-system "$store"' EXIT
fi
pod() {
    podman --root "$store/root" --runroot "$store/run" --storage-driver vfs --runtime runc "$@"
}

pull=missing
if [ "${HEDGE_CONTAINER_BASES:-}" = local ]; then
    pull=never
    command -v mmdebstrap >/dev/null || fail "mmdebstrap missing: apt-get install mmdebstrap"
    toolchain=$(rustc --print sysroot) || fail "no Rust toolchain on the host for the stand-in rust image"
    mirror=${HEDGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
    if ! pod image exists docker.io/library/debian:bookworm-slim; then
        step "making a stand-in debian:bookworm-slim (mmdebstrap)"
        mmdebstrap --quiet --variant=minbase bookworm "$store/slim.tar" "$mirror"
        pod import "$store/slim.tar" docker.io/library/debian:bookworm-slim >/dev/null
        rm -f "$store/slim.tar"
    fi
    if [ -z "${HEDGE_DEB:-}" ] && ! pod image exists docker.io/library/rust:1-bookworm; then
        step "making a stand-in rust:1-bookworm ($toolchain)"
        deb=$(command -v cargo-deb) || fail "cargo-deb missing on the host: cargo install --locked cargo-deb"
        mmdebstrap --quiet --variant=minbase \
            --include=gcc,libc6-dev,binutils,make,pkg-config,ca-certificates \
            --customize-hook="cp -a '$toolchain' \"\$1/usr/local/rust\"" \
            --customize-hook='for b in cargo rustc rustdoc; do ln -s ../rust/bin/$b "$1/usr/local/bin/$b"; done' \
            --customize-hook="cp '$deb' \"\$1/usr/local/bin/\"" \
            bookworm "$store/rust.tar" "$mirror"
        pod import "$store/rust.tar" docker.io/library/rust:1-bookworm >/dev/null
        rm -f "$store/rust.tar"
    fi
fi

if [ -n "${HEDGE_CONTAINER_IMAGE:-}" ]; then
    tag=$HEDGE_CONTAINER_IMAGE
    pod image exists "$tag" || fail "no image $tag in $store"
else
    tag=localhost/hedge-test
    ca=()
    [ -f /etc/ssl/certs/ca-certificates.crt ] &&
        ca=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
    if [ -n "${HEDGE_DEB:-}" ]; then
        [ -f "$HEDGE_DEB" ] || fail "no package at '$HEDGE_DEB'"
        # The package's folder is the context: the sources' context leaves target/ out.
        source=(--build-arg "HEDGE_DEB=$(basename "$HEDGE_DEB")" "$(dirname "$HEDGE_DEB")")
        step "building the image from $HEDGE_DEB"
    else
        source=(.)
        step "building the image (a release build of hedge inside: long)"
    fi
    started=$(date +%s)
    pod build --isolation chroot --pull="$pull" --network host "${ca[@]}" \
        -t "$tag" -f Containerfile "${source[@]}" || fail "podman build"
    step "built in $(($(date +%s) - started)) s"
fi
step "testing $tag"

nofile=$(ulimit -Hn)
run() {
    pod run --rm --network none --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096 "$@"
}

step "hedge --version"
version=$(run "$tag" --version) || fail "hedge --version"
want=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
[ "$version" = "hedge $want" ] || fail "hedge --version printed '$version', not 'hedge $want'"

step "hedge check-config /etc/hedge/hedge.toml"
checked=$(run "$tag" check-config /etc/hedge/hedge.toml) || fail "check-config: $checked"
grep -q '^ok: ' <<<"$checked" || fail "check-config printed no ok line: $checked"
! grep '^warning:.*RLIMIT_NOFILE' <<<"$checked" ||
    fail "check-config warned about file descriptors on the shipped configuration"

step "the image runs as hedge and owns its state folder"
user=$(run --entrypoint id "$tag" -un) || fail "id -un"
[ "$user" = hedge ] || fail "the image runs as '$user', not hedge"
state=$(run --entrypoint stat "$tag" -c '%U:%G %a' /var/lib/hedge) || fail "stat /var/lib/hedge"
[ "$state" = "hedge:hedge 750" ] || fail "/var/lib/hedge is $state, not hedge:hedge 750"

step "ok: $version; check-config passes on the shipped configuration, as hedge"
