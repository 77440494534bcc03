#!/bin/sh
# Runs the command as PUID:PGID. Started as root (the default), it makes the state directory
# theirs, adds them to the groups owning /dev/dri render nodes (QSV/VAAPI), then drops root
# for good; started as another user (`user:` in compose, `--user`), it runs the command as is.
set -eu
if [ "$(id -u)" != 0 ]; then exec "$@"; fi

PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
case "$PUID$PGID" in *[!0-9]*)
  echo "conform entrypoint: PUID and PGID must be numbers, got PUID=$PUID PGID=$PGID" >&2
  exit 64 ;;
esac
if [ "$PUID" = 0 ]; then
  echo "conform entrypoint: warning: PUID=0 runs conform as root" >&2
  exec "$@"
fi

state="${CONFORM_STATE_DIR:-/data}"
mkdir -p "$state"
# Only the state directory, never the library: the media keeps the owner it has.
if [ "$(stat -c %u:%g "$state")" != "$PUID:$PGID" ]; then chown -R "$PUID:$PGID" "$state"; fi

groups="$PGID"
for dev in /dev/dri/renderD* /dev/dri/card*; do
  [ -e "$dev" ] && groups="$groups,$(stat -c %g "$dev")"
done
export HOME="$state"
exec setpriv --reuid="$PUID" --regid="$PGID" --groups="$groups" --inh-caps=-all -- "$@"
