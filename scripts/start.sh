#!/usr/bin/env bash
# Builds the package and runs the order example (reserve_inventory -> charge_payment ->
# create_order) against a real local HTTP service, printing each transaction's report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec node tests/js/order-example.mjs
