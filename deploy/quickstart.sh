#!/usr/bin/env bash
# From a fresh Debian 12 machine, as root: install what canaryd needs, build it, and run
# `canaryd demo`: a baseline and a canary of a synthetic service (with a latency regression by
# default) are scraped by canaryd's embedded scraper and judged live, in about a minute.
# Arguments go to `canaryd demo`, e.g. deploy/quickstart.sh --regression none
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh --no-peers
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target canaryd

exec build/release/src/app/canaryd demo --output build/demo-result.json "$@"
