# Sourced by .ci/run: gives the tests a Redis and exports REDIS_URL. Uses REDIS_URL if given, else
# the Redis at 127.0.0.1:6379 if it answers, else installs Debian's redis-server and starts a
# private one on a free port, without persistence, stopped by `cleanup` at the end.

# Whether a Redis answers PING at host $1, port $2 (bash's /dev/tcp: redis-cli may be absent).
redis_setup_answers() {
  timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2 && printf 'PING\r\n' >&3 && IFS= read -r line <&3 && [[ \$line == +PONG* ]]" 2>/dev/null
}

redis_setup() {
  if [ -n "${REDIS_URL:-}" ]; then
    printf 'Redis: using REDIS_URL from the environment\n'
    return 0
  fi
  if redis_setup_answers 127.0.0.1 6379; then
    export REDIS_URL=redis://127.0.0.1:6379
    printf 'Redis: using the one answering at 127.0.0.1:6379\n'
    return 0
  fi
  if ! command -v redis-server >/dev/null; then
    printf 'Redis: installing Debian redis-server\n'
    local sudo=''
    [ "$(id -u)" -ne 0 ] && sudo='sudo -n'
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
      || { printf 'Redis: could not install redis-server\n'; return 1; }
    # Debian's package may start its own server on 6379, with persistence: this run wants only its private one.
    if redis_setup_answers 127.0.0.1 6379; then
      $sudo service redis-server stop >/dev/null 2>&1 || $sudo systemctl stop redis-server >/dev/null 2>&1 || true
    fi
  fi
  local dir port
  dir=$(mktemp -d)
  port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
  # No persistence: a throwaway server for one CI run.
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    || { printf 'Redis: redis-server did not start\n'; return 1; }
  cleanup+=("kill \"\$(cat '$dir/redis.pid' 2>/dev/null)\" 2>/dev/null; rm -rf '$dir'")
  local tries=0
  until redis_setup_answers 127.0.0.1 "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 50 ]; then
      printf 'Redis: no answer on port %s\n' "$port"
      cat "$dir/redis.log" 2>/dev/null
      return 1
    fi
    sleep 0.2
  done
  export REDIS_URL="redis://127.0.0.1:$port"
  printf 'Redis: started a private redis-server on port %s (%s)\n' "$port" "$(redis-server --version | cut -d' ' -f3)"
}

redis_setup
