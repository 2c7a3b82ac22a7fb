#!/usr/bin/env bash
# Makes sure the services the app ("app") or the test suite ("test") needs are running on this machine,
# starting them, or installing them from Debian's packages, when they are not. Fails loudly otherwise.
set -euo pipefail
mode="${1:-test}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_updated=""

apt_install() {
  if ! command -v apt-get >/dev/null; then echo "services: cannot install $* (no apt-get); install it by hand" >&2; exit 1; fi
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && head -c 5 <&3 | grep -q PONG) 2>/dev/null; }

ensure_redis() {
  if redis_up; then echo "redis: running on 127.0.0.1:6379"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /tmp/tryon-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/tryon-redis \
    --logfile /tmp/tryon-redis/redis.log
  for _ in $(seq 1 50); do redis_up && { echo "redis: started"; return; }; sleep 0.1; done
  echo "services: Redis did not start (see /tmp/tryon-redis/redis.log)" >&2; exit 1
}

# Tests start redis-server processes of their own (a Redis Cluster, a Redis they kill), besides the shared one.
ensure_redis_tools() {
  if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then return; fi
  apt_install redis-server
  echo "redis-server: installed"
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

ensure_postgres() {
  if command -v pg_isready >/dev/null && pg_up; then echo "postgresql: running on 127.0.0.1:5432"; else
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
    version=$(ls /etc/postgresql | sort -V | tail -1)
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # Local test databases only: trust connections from loopback, as CI machines are set up.
    if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
    pg_up || { echo "services: PostgreSQL did not start" >&2; exit 1; }
    echo "postgresql: started"
  fi
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1" >/dev/null \
    || { echo "services: PostgreSQL is up but user postgres cannot connect from 127.0.0.1 without a password" >&2; exit 1; }
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"; return; fi
  apt_install chromium
  [ -x /usr/bin/chromium ] || { echo "services: Chromium could not be installed" >&2; exit 1; }
  echo "chromium: installed"
}

ensure_redis
if [ "$mode" = "test" ]; then
  ensure_redis_tools
  ensure_postgres
  ensure_chromium
fi
