#!/usr/bin/env bash
# Installs what conform needs on a Debian/Ubuntu machine, skipping what is already there:
# ffmpeg, nats-server, docker-compose and prometheus's promtool (apt-get; chromium too with
# --with-browser, for the dashboard tests),
# the npm dependencies (npm ci) and the build.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."

say() { printf 'conform setup: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1; then
  say "Node.js 20.19 or newer is required: https://nodejs.org (or apt-get install nodejs on Debian 13)"
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "Node.js $(node --version) is too old: conform needs 20.19 or newer"
  exit 1
fi

missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
# deploy/'s tests: `docker-compose config` of every profile, promtool on the alert rules.
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# The test suite drives the dashboard in Debian's chromium (never a downloaded browser).
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fi
if ((${#missing[@]})); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${packages}— install them with your package manager and run this again"
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      say "missing: ${packages}— run as root: apt-get update && apt-get install -y ${packages}"
      exit 1
    fi
  fi
  say "installing ${packages}with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ${packages} >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "building"
npx --no-install turbo run build --output-logs=errors-only >&2
