#!/usr/bin/env bash
# The demo (issue 5): builds the package (pkg/) and the page (Vite: www/ -> www/dist), then serves
# on one localhost URL the page, the order service (/api) and the Worker of wrangler.toml under
# workerd (its notification hub at /events): see demo/server.mjs. PORT=… picks the port.
# (The Node order example runs with `node tests/js/order-example.mjs`.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
source scripts/bootstrap.sh build # PATH: node_modules/.bin
vite build www --logLevel warn
exec node demo/server.mjs
