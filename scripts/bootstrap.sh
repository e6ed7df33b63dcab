#!/usr/bin/env bash
# Makes a fresh machine ready, idempotently, with exact pins; quick when all is there.
# Usage: bash scripts/bootstrap.sh [build|test]   (test also installs Chromium + ChromeDriver)
# Sourced by build/test/start/bench; everything comes from crates.io, npm and Debian only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WASM_PACK_VERSION=0.15.1
# Debian's chromium and its driver, pinned as a pair (bookworm-security).
CHROMIUM_VERSION=156.0.8078.79-1~deb12u1

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

locked_version() { # version of crate $1 in Cargo.lock
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_rust() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  [[ -f Cargo.lock ]] || cargo generate-lockfile
  local wbg
  wbg=$(locked_version wasm-bindgen)
  if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbg" ]]; then
    say "installing wasm-bindgen-cli $wbg (equal to Cargo.lock)"
    # No --locked: the registry mirror lacks one of its locked dependencies.
    cargo install wasm-bindgen-cli --version "=$wbg" --force
  fi
  if [[ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]]; then
    say "installing wasm-pack $WASM_PACK_VERSION"
    cargo install wasm-pack --version "=$WASM_PACK_VERSION" --force
  fi
}

ensure_node_modules() {
  # Reinstall from package-lock.json (npm ci: exact versions) whenever the lock changed.
  local stamp=node_modules/.edgesaga-lock.sha256 want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    say "installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund
    echo "$want" > "$stamp"
  fi
}

ensure_chromium() {
  if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    return
  fi
  say "installing Debian's chromium and chromium-driver $CHROMIUM_VERSION"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq "chromium=$CHROMIUM_VERSION" "chromium-driver=$CHROMIUM_VERSION"; then
    # A security update replaced the pinned build: take the current pair, still matched.
    say "pinned chromium $CHROMIUM_VERSION is gone from the archive; installing the current matching pair"
    local v
    v=$(apt-cache policy chromium | awk '/Candidate:/ {print $2}')
    apt-get install -y -qq "chromium=$v" "chromium-driver=$v"
  fi
}

ensure_rust
ensure_node_modules
if [[ "${1:-build}" == test ]]; then
  ensure_chromium
fi
# binaryen's wasm-opt (npm) must come first: Debian's v108 breaks the module at init.
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if [[ "$(wasm-opt --version)" != *"version 132"* ]]; then
  say "wasm-opt on PATH is not binaryen 132 from node_modules: $(command -v wasm-opt)"
  exit 1
fi
