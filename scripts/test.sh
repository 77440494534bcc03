#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, lints, then runs every workspace's
# tests (real nats-server, real ffmpeg) and ends with one "N passed, N failed" line.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --with-browser
npx --no-install turbo run lint --output-logs=errors-only
npx --no-install prettier --check . --log-level=warn
exec node scripts/run-tests.mjs "$@"
