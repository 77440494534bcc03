#!/usr/bin/env bash
# Builds and tags the release image conform:<version> and writes the release notes.
# The version is the root package.json's (set by scripts/version.mjs, the one tool that bumps
# it); the notes are CHANGELOG.md's section of that version. Tagging git is not done here: the
# release commit is tagged v<version> on main after the merge (CONTRIBUTING.md).
#
#   bash scripts/release.sh             build conform:<version> (docker, else podman) and the notes
#   bash scripts/release.sh --dry-run   print what it would do and the notes; build nothing
# Environment: BASE_IMAGE (any Debian 13; with podman default localhost/conform-base:trixie,
# the mmdebstrap base deploy/smoke.sh makes), RELEASE_DIR (default .release).
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    *)
      echo "usage: bash scripts/release.sh [--dry-run]" >&2
      exit 2
      ;;
  esac
done
say() { printf 'release: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

version=$(node -p 'require("./package.json").version')
node scripts/version.mjs --check || fail "workspace versions disagree with the root's $version: run node scripts/version.mjs $version"
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

# The notes: the changelog's section of this version, without its heading.
notes=$(awk -v v="$version" '
  index($0, "## [" v "]") == 1 { on = 1; next }
  on && /^## \[/ { exit }
  on && /^\[[^]]+\]: / { exit }
  on { print }
' CHANGELOG.md)
[ -n "${notes//[[:space:]]/}" ] || fail "CHANGELOG.md has no section for $version"
notes_dir=${RELEASE_DIR:-.release}
notes_file="$notes_dir/conform-$version.md"

engine=docker
if ! { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then
  if command -v podman >/dev/null 2>&1; then
    engine=podman
  elif [ "$dry_run" = 1 ]; then
    # A dry run builds nothing: it plans the Docker build a release machine would run.
    say "no Docker engine or podman here: planning the docker build"
  else
    fail "neither a Docker engine nor podman is available"
  fi
fi
image="conform:$version"
build=("$engine" build -f deploy/Dockerfile -t "$image" --build-arg "VERSION=$version" --build-arg "REVISION=$revision")
if [ "$engine" = podman ]; then
  # As deploy/smoke.sh: no Docker Hub here, its mmdebstrap base stands in for debian:trixie-slim;
  # --format docker keeps the HEALTHCHECK.
  base=${BASE_IMAGE:-localhost/conform-base:trixie}
  build+=(--build-arg "BASE_IMAGE=$base" --ulimit nofile=20000:20000 --format docker)
elif [ -n "${BASE_IMAGE:-}" ]; then
  build+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  build+=(--secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt)
fi
build+=(.)

if [ "$dry_run" = 1 ]; then
  printf 'version %s (revision %s)\n' "$version" "$revision"
  printf 'would build: %s\n' "${build[*]}"
  printf 'would write: %s\n' "$notes_file"
  printf -- '--- release notes ---\n# conform %s\n%s\n' "$version" "$notes"
  exit 0
fi

if [ "$engine" = podman ] && ! podman image exists "$base"; then
  fail "no base image $base: run bash deploy/smoke.sh once (it makes it) or set BASE_IMAGE"
fi
mkdir -p "$notes_dir"
printf '# conform %s\n%s\n' "$version" "$notes" >"$notes_file"
say "release notes in $notes_file"
say "building $image with $engine"
if [ "$engine" = docker ]; then export DOCKER_BUILDKIT=1; fi
"${build[@]}" || fail "the image did not build (deploy/Dockerfile)"
say "built $image ($($engine image inspect "$image" --format '{{.Size}}') bytes); tag the commit: git tag v$version"
