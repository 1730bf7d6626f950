#!/usr/bin/env bash
# Builds the seed corpora of every fuzz target in fuzz/corpus/<target>/ from the project's
# test data (see examples/seeds.rs). Safe to re-run: it rewrites the same files, and
# whatever the fuzzer added to a corpus stays.
set -euo pipefail
cd "$(dirname "$0")"
# The main workspace's target/ already holds most of the dependencies, built for debug.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-../target} cargo run --quiet --example seeds
