#!/usr/bin/env bash
# Package test: builds the Debian package, installs it with dpkg on a fresh minimal root of
# the host's Debian release (mmdebstrap, from the Debian mirror), and checks what an
# operator relies on: the user and state folder, the units' binary, `hedge check-config` on
# the shipped configuration, `man hedge-serve`, the completions, and that `dpkg -r` keeps an
# edited conffile while `dpkg --purge` removes it. Needs root and mmdebstrap (.ci/run
# installs it). Every check fails the script; nothing is skipped.
#   deploy/test-package.sh                              build, then test
#   HEDGE_DEB=target/debian/hedge_….deb deploy/test-package.sh   test a built package
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
step() { echo "test-package: $*" >&2; }

[ "$(id -u)" = 0 ] || fail "run as root (dpkg -i and chroot into the test root)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap missing: apt-get install mmdebstrap"

# HEDGE_DEB: test this package instead of building one.
if [ -n "${HEDGE_DEB:-}" ]; then
    deb=$HEDGE_DEB
else
    step "building the package"
    deb=$(deploy/build-package.sh | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"
step "testing $deb"

root=$(mktemp -d /tmp/hedge-package-root.XXXXXX)
# mmdebstrap unmounts what it mounted; nothing is mounted in $root afterwards.
trap 'rm -rf --one-file-system "$root"' EXIT

. /etc/os-release
step "making a clean $VERSION_CODENAME root in $root"
mmdebstrap --quiet --variant=minbase --include=adduser,man-db,tzdata \
    "$VERSION_CODENAME" "$root" "${HEDGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

cp "$deb" "$root/tmp/hedge.deb"
step "dpkg -i"
in_root dpkg -i /tmp/hedge.deb
# A second install (as an upgrade to the same version does) must not fail on the
# existing user or folder.
in_root dpkg -i /tmp/hedge.deb

step "the hedge user and /var/lib/hedge"
user=$(in_root getent passwd hedge) || fail "no hedge user"
case "$user" in
    hedge:x:*:*:*:/var/lib/hedge:/usr/sbin/nologin) ;;
    *) fail "hedge user: $user" ;;
esac
owner=$(in_root stat -c '%U:%G %a' /var/lib/hedge)
[ "$owner" = "hedge:hedge 750" ] || fail "/var/lib/hedge is $owner, not hedge:hedge 750"

step "the units run the packaged binary"
for unit in hedge.service hedge-lists.service hedge-lists.timer; do
    [ -f "$root/usr/lib/systemd/system/$unit" ] || fail "$unit not installed"
done
for bin in $(grep -ho '^Exec[A-Za-z]*=[^ ]*/hedge ' "$root"/usr/lib/systemd/system/hedge*.service |
    cut -d= -f2 | sort -u); do
    [ -x "$root$bin" ] || fail "a unit runs $bin, which the package does not install"
done
grep -qx 'ExecStart=/usr/bin/hedge serve --config /etc/hedge/hedge.toml' \
    "$root/usr/lib/systemd/system/hedge.service" || fail "hedge.service ExecStart"

step "hedge check-config /etc/hedge/hedge.toml, as the hedge user"
in_root setpriv --reuid=hedge --regid=hedge --clear-groups \
    hedge check-config /etc/hedge/hedge.toml || fail "check-config of the shipped hedge.toml"

step "man hedge-serve"
page=$(in_root env MANPAGER=cat MANWIDTH=80 man hedge-serve 2>"$root/tmp/man.err") ||
    fail "man hedge-serve: $(cat "$root/tmp/man.err")"
[ ! -s "$root/tmp/man.err" ] || fail "man hedge-serve warned: $(cat "$root/tmp/man.err")"
grep -q 'hedge-serve' <<<"$page" && grep -q -- '--config' <<<"$page" ||
    fail "man hedge-serve printed: $page"
in_root env MANPAGER=cat man hedge-lists-update >/dev/null || fail "man hedge-lists-update"

step "completions"
for file in /usr/share/bash-completion/completions/hedge \
    /usr/share/zsh/vendor-completions/_hedge \
    /usr/share/fish/vendor_completions.d/hedge.fish; do
    [ -s "$root$file" ] || fail "$file missing"
done
in_root bash -c '. /usr/share/bash-completion/completions/hedge && complete -p hedge' >/dev/null ||
    fail "the bash completion does not register for hedge"

step "conffiles: dpkg -r keeps an edited /etc/hedge/hedge.toml, --purge removes it"
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' hedge)
for f in /etc/hedge/hedge.toml /etc/hedge/sources.toml; do
    grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
echo '# edited by the council' >>"$root/etc/hedge/hedge.toml"
in_root dpkg -r hedge
[ ! -e "$root/usr/bin/hedge" ] || fail "dpkg -r left /usr/bin/hedge"
grep -q '^# edited by the council$' "$root/etc/hedge/hedge.toml" ||
    fail "dpkg -r removed or replaced the edited /etc/hedge/hedge.toml"
[ -d "$root/var/lib/hedge" ] || fail "dpkg -r removed the state folder (only --purge may)"
in_root dpkg --purge hedge
[ ! -e "$root/etc/hedge/hedge.toml" ] || fail "dpkg --purge left /etc/hedge/hedge.toml"
[ ! -e "$root/var/lib/hedge" ] || fail "dpkg --purge left /var/lib/hedge"

step "ok: $deb installs, checks, documents itself and removes cleanly"
