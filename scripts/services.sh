#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, trust for local connections) and Redis (127.0.0.1:6379)
# answer: uses them where they already run, starts them where installed, installs them with apt-get
# where missing (as root on Debian). Without root it says what is missing; tests needing them skip.
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_root() { [ "$(id -u)" = 0 ]; }
apt_install() {
  as_root && command -v apt-get >/dev/null || return 1
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq && APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() {
  for _ in $(seq 1 60); do answers "$1" && return 0; sleep 0.5; done
  return 1
}

if ! answers 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing PostgreSQL" && apt_install postgresql || echo "PostgreSQL is missing (apt-get install postgresql)"
  fi
  if ls /etc/postgresql/*/main >/dev/null 2>&1 && as_root; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    hba=/etc/postgresql/$version/main/pg_hba.conf
    grep -q "cadre-companion tests" "$hba" ||
      sed -i '1i host all all 127.0.0.1/32 trust # cadre-companion tests\nhost all all ::1/128 trust # cadre-companion tests' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start
    wait_for 5432 && echo "PostgreSQL started" || echo "PostgreSQL did not start"
  fi
fi

if ! answers 6379; then
  command -v redis-server >/dev/null || { echo "installing Redis"; apt_install redis-server || echo "Redis is missing (apt-get install redis-server)"; }
  if command -v redis-server >/dev/null; then
    mkdir -p /tmp/cadre-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/cadre-redis --logfile /tmp/cadre-redis/redis.log
    wait_for 6379 && echo "Redis started" || echo "Redis did not start"
  fi
fi
exit 0
