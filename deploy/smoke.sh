#!/usr/bin/env bash
# The compose deployment, for real: builds the image, starts docker-compose.yml's cpu profile
# against a temporary library and archive, drops an H.264 clip into the library and waits until
# it is HEVC with the original byte-identical in the archive, checks /api/files and /metrics,
# then brings the stack down (volumes too) and removes everything it made.
#
# Uses Docker when a Docker engine answers; otherwise podman (Debian's, with runc) driven by
# docker-compose through `podman system service`, installing what is missing with apt-get.
# Exits non-zero with the reason, and the containers' logs, on any failure.
#   bash deploy/smoke.sh            (as root, or with sudo for the installs)
# Environment: SMOKE_TIMEOUT (seconds to wait for the replacement, default 600),
# SMOKE_KEEP_IMAGE=0 to remove the built image too (kept by default: the next build is cached).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { printf 'smoke: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
started=$(date +%s)

# ---- what this needs ------------------------------------------------------------------------
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_install() {
  command -v apt-get >/dev/null 2>&1 || fail "missing $*: install with your package manager"
  say "installing $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine=docker
if ! { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }; then engine=podman; fi
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ "$engine" = podman ]; then
  for tool in podman runc iptables mmdebstrap; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
  # Rootless helpers and the overlay driver podman picks up when present.
  for tool in newuidmap slirp4netns fuse-overlayfs; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$([ "$tool" = newuidmap ] && echo uidmap || echo "$tool")")
  done
fi
if ((${#need[@]})); then apt_install "${need[@]}"; fi
if [ "$engine" = podman ]; then
  # Compose services find each other by name (nats://nats:4222): podman's networks need their
  # DNS plugin for that (dnsname under CNI, aardvark-dns under netavark).
  case "$(podman info --format '{{.Host.NetworkBackend}}')" in
    cni) [ -e /usr/lib/cni/dnsname ] || apt_install golang-github-containernetworking-plugin-dnsname ;;
    netavark) [ -e /usr/lib/podman/aardvark-dns ] || apt_install aardvark-dns ;;
  esac
fi

compose=(docker-compose)
podman_service_pid=""
if [ "$engine" = podman ]; then
  # crun refuses this kind of host's hybrid cgroups: use runc; and no default nofile ulimit,
  # which rootful podman cannot raise inside some sandboxes.
  conf=/etc/containers/containers.conf
  if ! grep -qs '^[[:space:]]*runtime[[:space:]]*=' "$conf"; then
    say "setting runtime = \"runc\" in $conf"
    $sudo mkdir -p /etc/containers
    printf '[engine]\nruntime = "runc"\n' | $sudo tee -a "$conf" >/dev/null
  fi
  if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
    say "setting default_ulimits = [] in $conf"
    printf '[containers]\ndefault_ulimits = []\n' | $sudo tee -a "$conf" >/dev/null
  fi
fi

# ---- temporary everything, removed on exit --------------------------------------------------
work=$(mktemp -d /tmp/conform-smoke.XXXXXX)
project="conformsmoke$$"
image="localhost/conform:smoke"
base_image="localhost/conform-base:trixie"
env_file="$work/.env"
run_compose() { "${compose[@]}" --project-name "$project" --env-file "$env_file" -f "$repo/docker-compose.yml" "$@"; }

cleanup() {
  local code=$?
  set +e
  if [ -f "$env_file" ]; then
    if [ "$code" -ne 0 ]; then
      say "the containers' logs:"
      run_compose --profile cpu logs --no-color --tail=200 >&2
    fi
    run_compose --profile cpu down -v --remove-orphans >/dev/null 2>&1
  fi
  if [ "${SMOKE_KEEP_IMAGE:-1}" = 0 ]; then $engine rmi -f "$image" >/dev/null 2>&1; fi
  if [ -n "$podman_service_pid" ]; then
    kill "$podman_service_pid" 2>/dev/null
    wait "$podman_service_pid" 2>/dev/null
  fi
  rm -rf "$work"
  if [ "$code" -eq 0 ]; then say "passed in $(($(date +%s) - started)) s"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$engine" = podman ]; then
  # docker-compose speaks the Docker API; podman serves it on a unix socket of our own.
  socket="$work/podman.sock"
  podman system service --time=0 "unix://$socket" >"$work/podman-service.log" 2>&1 &
  podman_service_pid=$!
  export DOCKER_HOST="unix://$socket"
  for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.2; done
  [ -S "$socket" ] || fail "podman system service did not start: $(cat "$work/podman-service.log")"
fi

# ---- the image ------------------------------------------------------------------------------
build_args=()
if [ "$engine" = podman ]; then
  # No Docker Hub here: a Debian 13 minbase made with mmdebstrap stands in for
  # debian:trixie-slim (reused when already imported).
  if ! podman image exists "$base_image"; then
    say "making the trixie base image with mmdebstrap"
    mmdebstrap --quiet --variant=minbase trixie "$work/base.tar" http://deb.debian.org/debian ||
      fail "mmdebstrap could not make the trixie base image"
    podman import "$work/base.tar" "$base_image" >/dev/null
    rm -f "$work/base.tar"
  fi
  # --format docker: OCI images cannot carry the HEALTHCHECK.
  build_args+=(--build-arg "BASE_IMAGE=$base_image" --ulimit nofile=20000:20000 --format docker)
fi
# A TLS-inspecting proxy's CA (the host trusts it) reaches npm inside the build as a secret.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  build_args+=(--secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt)
fi
say "building the image ($engine)"
build_started=$(date +%s)
if [ "$engine" = docker ]; then export DOCKER_BUILDKIT=1; fi
$engine build -f deploy/Dockerfile -t "$image" "${build_args[@]}" \
  --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" . >"$work/build.log" 2>&1 ||
  {
    tail -50 "$work/build.log" >&2
    fail "the image did not build (deploy/Dockerfile)"
  }
size=$($engine image inspect "$image" --format '{{.Size}}')
say "image built in $(($(date +%s) - build_started)) s, $((size / 1000000)) MB"

# ---- the stack: .env from deploy/.env.example, temporary library and archive ----------------
puid=4242
pgid=4242
mkdir -p "$work/library/Movies" "$work/archive"
chown -R "$puid:$pgid" "$work/library" "$work/archive"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
monitor_port=$(free_port)
# The smoke policy: the shipped one encodes nothing under 50 MB, so a 4-second clip would be
# skipped; the libraries are the container paths docker-compose.yml mounts.
cat >"$work/quality.yaml" <<'EOF'
version: 1
defaults:
  video: { codec: hevc, quality: { cpuCrf: 28 } }
  minimum: { sizeMB: 0, durationSec: 0 }
  guardrails: { minSavingPercent: 0, maxOutputRatio: 1, minFreeDiskGB: 0 }
libraries:
  - name: library
    root: /media/library
    archive: /media/archive
EOF
sed -e "s|^LIBRARY_PATH=.*|LIBRARY_PATH=$work/library|" \
  -e "s|^ARCHIVE_PATH=.*|ARCHIVE_PATH=$work/archive|" \
  -e "s|^PUID=.*|PUID=$puid|" -e "s|^PGID=.*|PGID=$pgid|" \
  -e "s|^CONFORM_QUALITY=.*|CONFORM_QUALITY=$work/quality.yaml|" \
  -e "s|^CONFORM_CONTROL_TOKEN=.*|CONFORM_CONTROL_TOKEN=smoke-$$|" \
  -e "s|^CONFORM_HTTP_PORT=.*|CONFORM_HTTP_PORT=$http_port|" \
  -e "s|^NATS_PORT=.*|NATS_PORT=$(free_port)|" \
  -e "s|^NATS_MONITOR_PORT=.*|NATS_MONITOR_PORT=$monitor_port|" \
  -e "s|^CONFORM_IMAGE=.*|CONFORM_IMAGE=$image|" \
  deploy/.env.example >"$env_file"
grep -q '^COMPOSE_PROFILES=cpu$' "$env_file" || fail "deploy/.env.example no longer selects the cpu profile"
# Compose reads COMPOSE_PROFILES from the environment; .env sets it for `docker compose` users.
export COMPOSE_PROFILES=cpu

say "starting the cpu profile (project $project)"
run_compose up -d --no-build >"$work/up.log" 2>&1 || {
  cat "$work/up.log" >&2
  fail "docker-compose up did not start the stack"
}
running=$(run_compose ps --services --filter status=running 2>/dev/null | sort | tr '\n' ' ')
say "running: $running"
for service in nats watcher planner encoder verifier archiver status; do
  case " $running " in *" $service "*) ;; *) fail "service $service is not running (running: $running)" ;; esac
done

api="http://127.0.0.1:$http_port"
wait_for() { # wait_for SECONDS WHAT COMMAND...
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for $what"
    sleep 2
  done
}
wait_for 120 "the status service at $api/readyz" curl -fsS "$api/readyz"

# ---- a clip in, HEVC out, the original archived byte for byte -------------------------------
ffmpeg -v error -f lavfi -i testsrc2=size=640x360:rate=25:duration=4 \
  -f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 \
  -c:v libx264 -preset ultrafast -qp 10 -pix_fmt yuv420p -c:a aac -shortest "$work/staged.mp4" ||
  fail "ffmpeg could not make the test clip"
original_sha=$(sha256sum "$work/staged.mp4" | cut -d' ' -f1)
chown "$puid:$pgid" "$work/staged.mp4"
# Written elsewhere, then moved in: how a finished download arrives.
mv "$work/staged.mp4" "$work/library/Movies/Smoke Test (2026).mp4"
target="/media/library/Movies/Smoke Test (2026).mp4"
say "dropped an H.264 clip into the library; waiting for it to be replaced"

replaced() {
  curl -fsS "$api/api/files" | python3 -c '
import json, sys
files = json.load(sys.stdin)
items = files["items"] if isinstance(files, dict) else files
hit = [f for f in items if f.get("path") == sys.argv[1]]
sys.exit(0 if hit and hit[0].get("status") == "replaced" else 1)' "$target"
}
wait_for "${SMOKE_TIMEOUT:-600}" "$target to be replaced (see /api/files)" replaced

codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 \
  "$work/library/Movies/Smoke Test (2026).mp4")
[ "$codec" = hevc ] || fail "the library file is $codec, not hevc"
archived=$(find "$work/archive" -type f -name '*.mp4' | head -1)
[ -n "$archived" ] || fail "no original in the archive: $(find "$work/archive" | tr '\n' ' ')"
[ "$(sha256sum "$archived" | cut -d' ' -f1)" = "$original_sha" ] ||
  fail "the archived original $archived differs from the clip dropped in"
owner=$(stat -c %u:%g "$work/library/Movies/Smoke Test (2026).mp4")
[ "$owner" = "$puid:$pgid" ] || fail "the replacement belongs to $owner, not PUID:PGID $puid:$pgid"
say "replaced: hevc in the library (owner $owner), original byte-identical at ${archived#"$work"/}"

metrics=$(curl -fsS "$api/metrics") || fail "GET $api/metrics failed"
grep -q '^conform_files{status="replaced"} 1$' <<<"$metrics" ||
  fail "/metrics does not count the replaced file: $(grep '^conform_files' <<<"$metrics" | tr '\n' ' ')"
grep -q '^conform_projection_lag ' <<<"$metrics" || fail "/metrics has no conform_projection_lag"
say "/api/files lists it as replaced; /metrics counts conform_files{status=\"replaced\"} 1"

# The event log as NATS's monitoring port shows it (what the nats CLI's users see).
curl -fsS "http://127.0.0.1:$monitor_port/jsz?streams=true&consumers=true&config=true" | python3 -c '
import json, sys
jsz = json.load(sys.stdin)
streams = [s for a in jsz.get("account_details", []) for s in a.get("stream_detail", [])]
log = next((s for s in streams if s["name"] == "CONFORM_EVENTS"), None)
if not log:
    sys.exit("no CONFORM_EVENTS stream in /jsz")
c = log["config"]
if (c["storage"], c["retention"], c["discard"], c.get("deny_delete"), c.get("deny_purge")) != ("file", "limits", "new", True, True):
    sys.exit("CONFORM_EVENTS is not file/limits/discard-new/deny-delete/deny-purge: %r" % c)
consumers = {d["name"] for d in log.get("consumer_detail", [])}
if "router-file-planned" not in consumers:
    sys.exit("no router-file-planned consumer: %s" % sorted(consumers))
work = next((s for s in streams if s["name"] == "CONFORM_WORK"), None)
if not work or work["config"]["retention"] != "workqueue":
    sys.exit("no CONFORM_WORK work-queue stream in /jsz")
print("smoke: /jsz: CONFORM_EVENTS (%d events, file storage, discard new), %d consumers" % (log["state"]["messages"], len(consumers)), file=sys.stderr)
' || fail "the event log's layout in /jsz is not what the bus provisions"

# The compose commands docs/user/01_getting_started.md and 03_operations.md show (under
# "# via compose"), as a user types them; services/cli/test/docs.e2e.test.ts checks each one is
# here (the guide's `up -d` is the one above: --no-build because this script built the image).
run_compose ps >"$work/guide.log" 2>&1 || fail "docker-compose ps failed: $(cat "$work/guide.log")"
grep -q status "$work/guide.log" || fail "docker-compose ps does not list the status service"
run_compose logs --tail=100 encoder >"$work/guide.log" 2>&1 || fail "docker-compose logs encoder failed"
[ -s "$work/guide.log" ] || fail "docker-compose logs encoder printed nothing"
run_compose logs --tail=100 archiver >"$work/guide.log" 2>&1 || fail "docker-compose logs archiver failed"
[ -s "$work/guide.log" ] || fail "docker-compose logs archiver printed nothing"
say "the guides' compose commands (ps, logs) work"

run_compose down -v --remove-orphans >/dev/null 2>&1 || fail "docker-compose down failed"
left=$($engine ps -a --filter "label=com.docker.compose.project=$project" -q | wc -l)
[ "$left" -eq 0 ] || fail "$left containers of $project are left after down"
rm -f "$env_file" # nothing left for the exit trap to bring down
