#!/usr/bin/env bash
# Makes sure the database servers the tests (and the benchmarks) use are up,
# with the databases `test` and `waffle_s0` … `waffle_s7` on each. Idempotent:
# when everything is there it only checks, quickly and quietly.
#
#   WAFFLE_DIALECTS        libsql,postgres,mysql by default; with `libsql` alone nothing is needed
#   WAFFLE_POSTGRES_URL    postgres://postgres@127.0.0.1:5432
#   WAFFLE_POSTGRES2_URL   postgres://postgres@127.0.0.1:5433 (a second PostgreSQL server)
#   WAFFLE_POSTGRES3_URL   postgres://postgres@127.0.0.1:5434 (a server the replication tests stop)
#   WAFFLE_POSTGRES4_URL   postgres://postgres@127.0.0.1:5435 (a server the fault tests restart)
#   WAFFLE_MYSQL_URL       mysql://root@127.0.0.1:3306 (MariaDB or MySQL)
#
# A server on this machine that is down is started when it can be (as root,
# with Debian's PostgreSQL clusters and MariaDB installed; the extra
# PostgreSQL clusters "second", "stopped" and "restarted" are created on ports
# 5433, 5434 and 5435 if there is none there and their URL variable is not
# set). The tests that stop or restart a server only do so to a cluster of
# this machine they can manage (pg_ctlcluster as root), and skip otherwise. A server that
# cannot be reached or started stops the script with a message saying how to
# start it, or how to test without it.
set -euo pipefail

DATABASES="test waffle_s0 waffle_s1 waffle_s2 waffle_s3 waffle_s4 waffle_s5 waffle_s6 waffle_s7"
WAIT_SECONDS=30

say() { echo "prepare-databases: $*"; }

fail() {
  echo "prepare-databases: $*" >&2
  echo "prepare-databases: or test the embedded dialect alone: WAFFLE_DIALECTS=libsql pnpm test" >&2
  exit 1
}

enabled() {
  local list="${WAFFLE_DIALECTS:-libsql,postgres,mysql}" d
  [ -z "${list//[ ,]/}" ] && list="libsql,postgres,mysql"
  IFS=',' read -ra dialects <<<"$list"
  for d in "${dialects[@]}"; do
    [ "$(echo "$d" | tr -d '[:space:]')" = "$1" ] && return 0
  done
  return 1
}

# Splits a URL `scheme://user:password@host:port/…` into the globals
# url_user, url_password, url_host and url_port (percent-escapes decoded).
parse_url() {
  local url="$1" default_port="$2" rest auth hostport
  rest="${url#*://}"
  rest="${rest%%/*}"
  rest="${rest%%\?*}"
  if [[ "$rest" == *@* ]]; then
    auth="${rest%@*}"
    hostport="${rest##*@}"
  else
    auth=""
    hostport="$rest"
  fi
  url_user="$(decode "${auth%%:*}")"
  url_password=""
  [[ "$auth" == *:* ]] && url_password="$(decode "${auth#*:}")"
  if [[ "$hostport" == \[* ]]; then # [::1]:5432
    url_host="${hostport%%]*}"
    url_host="${url_host#[}"
    url_port="${hostport##*]:}"
    [[ "$hostport" == *]:* ]] || url_port="$default_port"
  else
    url_host="${hostport%%:*}"
    url_port="${hostport##*:}"
    [[ "$hostport" == *:* ]] || url_port="$default_port"
  fi
  [ -n "$url_host" ] || url_host=127.0.0.1
  [ -n "$url_port" ] || url_port="$default_port"
}

decode() { printf '%b' "${1//%/\\x}"; }

is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

can_manage() { [ "$(id -u)" = 0 ]; }

# --- PostgreSQL ---------------------------------------------------------------

pg_up() { pg_isready -h "$1" -p "$2" -q 2>/dev/null; }

# The Debian cluster (version and name) listening on port $1, if any.
pg_cluster_on() {
  command -v pg_lsclusters >/dev/null || return 1
  pg_lsclusters -h 2>/dev/null | awk -v port="$1" '$3 == port { print $1, $2; exit }' | grep .
}

# Starts the local cluster on port $2; with $3 = yes, creates it first (named
# $4) when there is none on that port.
start_postgres() {
  local what="$1" port="$2" create="$3" name="$4" cluster version
  if ! cluster=$(pg_cluster_on "$port"); then
    if [ "$create" != yes ] || ! command -v pg_createcluster >/dev/null; then return 1; fi
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    [ -n "$version" ] || return 1
    pg_lsclusters -h | awk '{ print $2 }' | grep -qx "$name" && return 1
    say "creating a PostgreSQL cluster \"$name\" on port $port for $what"
    pg_createcluster "$version" "$name" --port "$port" -- --auth-local=trust --auth-host=trust >/dev/null
    cluster="$version $name"
  fi
  read -r version name <<<"$cluster"
  say "$what is down: starting PostgreSQL cluster $version/$name"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start || return 1
  for _ in $(seq 1 "$WAIT_SECONDS"); do
    pg_up 127.0.0.1 "$port" && return 0
    sleep 1
  done
  return 1
}

prepare_postgres() {
  local variable="$1" fallback="$2" what="$3" create="$4" cluster_name="${5:-second}" db
  parse_url "${!variable:-$fallback}" 5432
  local host="$url_host" port="$url_port" user="${url_user:-postgres}"
  command -v pg_isready >/dev/null && command -v psql >/dev/null \
    || fail "$what ($variable=${!variable:-$fallback}) needs the PostgreSQL client tools (psql, pg_isready): install them (apt-get install postgresql-client), or set WAFFLE_DIALECTS=libsql,mysql to skip PostgreSQL"
  if ! pg_up "$host" "$port"; then
    if ! is_local "$host" || ! can_manage || ! start_postgres "$what" "$port" "$create" "$cluster_name"; then
      local how="cannot be reached: start it"
      is_local "$host" && how="cannot be reached and could not be started here: start it (as root: pg_ctlcluster <version> <cluster> start; see pg_lsclusters)"
      fail "$what at $host:$port ($variable) $how, or set $variable to a running server"
    fi
  fi
  local existing
  existing=$(PGPASSWORD="$url_password" psql -h "$host" -p "$port" -U "$user" -d postgres -tAc "SELECT datname FROM pg_database") \
    || fail "cannot list the databases of $what at $host:$port as $user ($variable)"
  for db in $DATABASES; do
    grep -qx "$db" <<<"$existing" && continue
    say "creating database $db on $what ($host:$port)"
    PGPASSWORD="$url_password" psql -h "$host" -p "$port" -U "$user" -d postgres -qc "CREATE DATABASE $db" \
      || fail "cannot create database $db on $what at $host:$port as $user ($variable)"
  done
}

# --- MariaDB / MySQL ----------------------------------------------------------

mysql_client() { command -v mariadb >/dev/null && echo mariadb || echo mysql; }
mysql_admin() { command -v mariadb-admin >/dev/null && echo mariadb-admin || echo mysqladmin; }

mysql_up() { MYSQL_PWD="$url_password" "$(mysql_admin)" ping -h "$1" -P "$2" -u "$3" --connect-timeout=5 --silent >/dev/null 2>&1; }

start_mariadb() {
  local daemon
  daemon=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2>/dev/null | head -n 1) || return 1
  [ -n "$daemon" ] && command -v start-stop-daemon >/dev/null || return 1
  # Running already, yet not answering at this address: starting it again would not help.
  start-stop-daemon --status --exec "$daemon" && return 1
  say "MariaDB is down: starting $daemon"
  start-stop-daemon --start --oknodo --background --exec "$daemon" -- --user=mysql || return 1
  for _ in $(seq 1 "$WAIT_SECONDS"); do
    mysql_up "$@" && return 0
    sleep 1
  done
  return 1
}

prepare_mysql() {
  local variable=WAFFLE_MYSQL_URL fallback=mysql://root@127.0.0.1:3306 db
  parse_url "${WAFFLE_MYSQL_URL:-$fallback}" 3306
  local host="$url_host" port="$url_port" user="${url_user:-root}"
  command -v "$(mysql_client)" >/dev/null && command -v "$(mysql_admin)" >/dev/null \
    || fail "MariaDB ($variable=${!variable:-$fallback}) needs the client tools (mariadb, mariadb-admin): install them (apt-get install mariadb-client), or set WAFFLE_DIALECTS=libsql,postgres to skip MySQL"
  if ! mysql_up "$host" "$port" "$user"; then
    if ! is_local "$host" || ! can_manage || ! start_mariadb "$host" "$port" "$user"; then
      local how="cannot be reached: start it"
      is_local "$host" && how="cannot be reached and could not be started here: start it (as root: service mariadb start, or start-stop-daemon --start --background --exec /usr/sbin/mariadbd -- --user=mysql)"
      fail "MariaDB at $host:$port ($variable) $how, or set $variable to a running server"
    fi
  fi
  local statements=""
  for db in $DATABASES; do statements+="CREATE DATABASE IF NOT EXISTS $db; "; done
  MYSQL_PWD="$url_password" "$(mysql_client)" -h "$host" -P "$port" -u "$user" -e "$statements" \
    || fail "cannot create the databases $DATABASES on MariaDB at $host:$port as $user ($variable)"
}

if enabled postgres; then
  prepare_postgres WAFFLE_POSTGRES_URL postgres://postgres@127.0.0.1:5432 "PostgreSQL" no
  # The extra servers are created only where the tests look for them by default.
  create=no
  [ -z "${WAFFLE_POSTGRES2_URL:-}" ] && create=yes
  prepare_postgres WAFFLE_POSTGRES2_URL postgres://postgres@127.0.0.1:5433 "the second PostgreSQL server" "$create" second
  create=no
  [ -z "${WAFFLE_POSTGRES3_URL:-}" ] && create=yes
  prepare_postgres WAFFLE_POSTGRES3_URL postgres://postgres@127.0.0.1:5434 "the PostgreSQL server the replication tests stop" "$create" stopped
  create=no
  [ -z "${WAFFLE_POSTGRES4_URL:-}" ] && create=yes
  prepare_postgres WAFFLE_POSTGRES4_URL postgres://postgres@127.0.0.1:5435 "the PostgreSQL server the fault tests restart" "$create" restarted
fi
if enabled mysql; then
  prepare_mysql
fi
