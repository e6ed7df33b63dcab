#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack (web target, no downloads) + binaryen's wasm-opt -Oz.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh "${BOOTSTRAP_MODE:-build}"
wasm-pack --quiet build --release --target web --mode no-install --out-dir pkg --out-name edgesaga
node scripts/postbuild.mjs
node scripts/size.mjs
