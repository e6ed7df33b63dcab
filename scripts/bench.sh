#!/usr/bin/env bash
# Benchmarks (not tests): ratios against a peer measured in the same run, and the package size.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
node bench/saga.mjs
node bench/sse.mjs
# The Worker: a 3-step declarative transaction under local workerd (~1 min).
node bench/worker.mjs
# Native parser throughput (criterion, ~15 s once built).
cargo bench --quiet --bench sse_parser
