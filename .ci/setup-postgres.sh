# Sourced by .ci/run: gives the tests a PostgreSQL and exports TEST_DATABASE_URL. Uses TEST_DATABASE_URL
# if given, else the server at 127.0.0.1:5432 (database test) if it answers, else installs Debian's
# postgresql and starts a private cluster on a free port, removed by `cleanup` at the end. Each test
# run works in a schema of its own and drops only that schema.

postgres_setup_answers() {
  PGCONNECT_TIMEOUT=3 psql "$1" -XAtqc 'select 1' >/dev/null 2>&1
}

postgres_setup() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    printf 'PostgreSQL: using TEST_DATABASE_URL from the environment\n'
    return 0
  fi
  local local_url='postgres://postgres@127.0.0.1:5432/test'
  if [ -z "${CI_PRIVATE_POSTGRES:-}" ] && command -v psql >/dev/null && postgres_setup_answers "$local_url"; then
    export TEST_DATABASE_URL="$local_url"
    printf 'PostgreSQL: using the one answering at 127.0.0.1:5432 (database test)\n'
    return 0
  fi
  local sudo=''
  [ "$(id -u)" -ne 0 ] && sudo='sudo -n'
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    printf 'PostgreSQL: installing Debian postgresql\n'
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null \
      || { printf 'PostgreSQL: could not install postgresql\n'; return 1; }
  fi
  local bin dir port
  bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
  dir=$(mktemp -d)
  chmod 755 "$dir"
  port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
  # initdb refuses to run as root: the cluster belongs to the postgres user Debian's package creates.
  local as_postgres=(env)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
    as_postgres=(runuser -u postgres --)
  fi
  "${as_postgres[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null \
    || { printf 'PostgreSQL: initdb failed\n'; return 1; }
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { printf 'PostgreSQL: the server did not start\n'; cat "$dir/log"; return 1; }
  cleanup+=("${as_postgres[*]} '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1; rm -rf '$dir'")
  psql "postgres://postgres@127.0.0.1:$port/postgres" -XAtqc 'create database test' >/dev/null \
    || { printf 'PostgreSQL: could not create the database test\n'; return 1; }
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/test"
  printf 'PostgreSQL: started a private cluster on port %s (%s)\n' "$port" "$("$bin/postgres" --version)"
}

postgres_setup
