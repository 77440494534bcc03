#!/usr/bin/env bash
# Quick start: installs what is missing, builds, generates a demo library under ./demo and
# runs conform on it until Ctrl-C.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec services/cli/dist/src/bin.js demo --dir demo "$@"
