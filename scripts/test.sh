#!/usr/bin/env bash
# The whole suite: lint, native Rust, wasm in Node and headless Chromium, TypeScript types,
# the JS integration tests against real local services, and the demo (www/) end to end in
# Chromium (tests/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh test

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --quiet --workspace --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --lib --test wasm_node --test wasm_browser -- -D warnings
# Broken intra-doc links fail too: the docs are how a newcomer finds things.
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --workspace

step "native Rust tests"
cargo test --quiet --workspace

step "build the npm package and the demo page"
BOOTSTRAP_MODE=test bash scripts/build.sh
vite build www --logLevel warn

step "wasm tests in Node and headless Chromium"
# wasm_node runs under wasm-bindgen-test-runner in Node; wasm_browser is served by the same
# runner and driven in Debian's Chromium by playwright-core (see scripts/wasm-test-runner.mjs).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="node $PWD/scripts/wasm-test-runner.mjs" \
  cargo test --target wasm32-unknown-unknown --test wasm_node --test wasm_browser

step "public TypeScript types"
tsc --noEmit -p tests/types

step "JS integration tests, and the demo end to end in Chromium"
node --test --test-timeout=120000 --test-reporter=spec tests/js/ tests/e2e/
