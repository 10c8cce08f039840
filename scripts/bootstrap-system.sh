#!/usr/bin/env bash
# Installs the system packages clipforge's local stack needs, where they are missing:
# Postgres 15 server binaries, Java 17 and Maven (for the Kafka and S3Proxy jars); with --bench
# also the ffmpeg command line (the bench's media baseline); with --browser also Chromium (the web
# app's end-to-end tests drive it: Playwright's own browser download does not work everywhere).
# Node.js 20+ with npm builds the web app. Debian/Ubuntu, as root.
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || command -v pg_ctl >/dev/null || need+=(postgresql-15)
command -v psql >/dev/null || need+=(postgresql-client-15)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v runuser >/dev/null || need+=(util-linux)
command -v cargo >/dev/null || [ -x "$HOME/.cargo/bin/cargo" ] || need+=(cargo)
command -v npm >/dev/null || need+=(nodejs npm)
for flag in "$@"; do
  case "$flag" in
    --bench) command -v ffmpeg >/dev/null || need+=(ffmpeg) ;;
    --browser) command -v chromium >/dev/null || need+=(chromium fonts-dejavu-core) ;;
  esac
done

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them, or run 'make bootstrap' as root)" >&2
  exit 1
fi
echo "bootstrap | installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
# The Debian package starts its own cluster on 5432; clipforge runs its own, so stop that one.
if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_lsclusters -h | awk '{print $1, $2}' | while read -r v c; do pg_ctlcluster "$v" "$c" stop || true; done
fi
