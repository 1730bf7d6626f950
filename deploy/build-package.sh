#!/usr/bin/env bash
# Builds the Debian package target/debian/hedge_<version>-1_<arch>.deb (and hedge-dbgsym_….ddeb
# with the debug symbols) and prints the .deb's path last.
# The release binary writes its own man pages and shell completions (`hedge generate`, from
# the same clap definitions as --help) into the target folder, where the asset list in
# crates/hedge/Cargo.toml [package.metadata.deb] picks them up.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-deb >/dev/null 2>&1 || cargo install --locked cargo-deb
cargo build --release --locked -p hedge

target=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -d "$target" ] || { echo "build-package.sh: no target folder ($target)" >&2; exit 1; }
hedge="$target/release/hedge"
# Fresh folders: a page of a command that no longer exists must not be packaged.
rm -rf "$target/release/man" "$target/release/completions"
"$hedge" generate man --out "$target/release/man"
"$hedge" generate completions --out "$target/release/completions" >/dev/null

# Sorted: hedge-dbgsym_….ddeb, then hedge_….deb last.
cargo deb -p hedge --no-build --locked --dbgsym | sort
