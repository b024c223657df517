# Sourced by .ci/run: starts a private three-primary Redis Cluster and exports TEST_REDIS_CLUSTER_NODES.
# Uses TEST_REDIS_CLUSTER_NODES if given; else starts three redis-server processes (cluster mode,
# no persistence) on free ports in a temporary directory, joins them with redis-cli --cluster create,
# and appends to `cleanup` the stopping of exactly those processes.

# A free TCP port p on 127.0.0.1 whose cluster bus port p+10000 is free too (the machine is shared).
redis_cluster_free_port() {
  node -e "
    const net = require('net');
    const free = (port) => new Promise((ok) => { const s = net.createServer().once('error', () => ok(false)).listen(port, '127.0.0.1', () => s.close(() => ok(true))); });
    (async () => {
      for (let tries = 0; tries < 200; tries += 1) {
        const port = 20000 + Math.floor(Math.random() * 35000);
        if ((await free(port)) && (await free(port + 10000))) { console.log(port); return; }
      }
      process.exit(1);
    })();"
}

# Whether a Redis answers PING on 127.0.0.1, port $1 (bash's /dev/tcp: redis-cli may be absent yet).
redis_cluster_answers() {
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'PING\r\n' >&3 && IFS= read -r line <&3 && [[ \$line == +PONG* ]]" 2>/dev/null
}

redis_cluster_setup() {
  if [ -n "${TEST_REDIS_CLUSTER_NODES:-}" ]; then
    printf 'Redis Cluster: using TEST_REDIS_CLUSTER_NODES from the environment\n'
    return 0
  fi
  # .ci/run may source this file before or after setup-redis.sh (glob order depends on the locale).
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    printf 'Redis Cluster: installing Debian redis-server\n'
    local sudo='' answered=no
    [ "$(id -u)" -ne 0 ] && sudo='sudo -n'
    redis_cluster_answers 6379 && answered=yes
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
      || { printf 'Redis Cluster: could not install redis-server\n'; return 1; }
    # The package may start its own server on 6379 (with persistence): stopped unless one was there before.
    if [ "$answered" = no ] && redis_cluster_answers 6379; then
      $sudo service redis-server stop >/dev/null 2>&1 || $sudo systemctl stop redis-server >/dev/null 2>&1 || true
    fi
  fi
  local dir port other ports=() nodes=() i
  dir=$(mktemp -d)
  # Registered before anything starts, so that a failure half-way still stops what did start.
  cleanup+=("for f in '$dir'/*.pid; do [ -e \"\$f\" ] && kill \"\$(cat \"\$f\")\" 2>/dev/null; done; sleep 0.2; rm -rf '$dir'")
  for i in 1 2 3; do
    # Each node takes two ports (p and its bus port p+10000): none of the six may be another's.
    local taken=yes tries=0
    while [ "$taken" = yes ]; do
      tries=$((tries + 1))
      [ "$tries" -gt 20 ] && { printf 'Redis Cluster: no free port pair\n'; return 1; }
      port=$(redis_cluster_free_port) || { printf 'Redis Cluster: no free port pair\n'; return 1; }
      taken=no
      for other in "${ports[@]}"; do
        if [ "$port" -eq "$other" ] || [ "$port" -eq $((other + 10000)) ] || [ "$port" -eq $((other - 10000)) ]; then taken=yes; fi
      done
    done
    mkdir -p "$dir/$port"
    # No persistence: a throwaway cluster for one CI run. nodes.conf lives in the node's own directory.
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --dir "$dir/$port" --pidfile "$dir/$port.pid" --logfile "$dir/$port.log" \
      || { printf 'Redis Cluster: redis-server did not start on port %s\n' "$port"; return 1; }
    ports+=("$port")
    nodes+=("127.0.0.1:$port")
  done
  for port in "${ports[@]}"; do
    local tries=0
    until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
      tries=$((tries + 1))
      [ "$tries" -ge 50 ] && { printf 'Redis Cluster: no answer on port %s\n' "$port"; cat "$dir/$port.log"; return 1; }
      sleep 0.2
    done
    # Between the free-port probe and the start another process may have taken the port (the
    # machine is shared): then our server failed and someone else's answers. Only the process
    # whose pid our pidfile holds may join the cluster.
    local answering started
    answering=$(redis-cli -p "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
    started=$(cat "$dir/$port.pid" 2>/dev/null)
    if [ -z "$answering" ] || [ "$answering" != "$started" ]; then
      printf 'Redis Cluster: port %s is answered by process %s, not by the server started here (%s)\n' "$port" "${answering:-?}" "${started:-none}"
      return 1
    fi
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 \
    || { printf 'Redis Cluster: redis-cli --cluster create failed\n'; cat "$dir/create.log"; return 1; }
  # Every node must agree before the tests start: cluster_state:ok on each of the three.
  local tries=0
  for port in "${ports[@]}"; do
    until redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      tries=$((tries + 1))
      [ "$tries" -ge 150 ] && { printf 'Redis Cluster: not ok after 30 s\n'; redis-cli -p "$port" cluster info; return 1; }
      sleep 0.2
    done
  done
  TEST_REDIS_CLUSTER_NODES=$(IFS=,; printf '%s' "${nodes[*]}")
  export TEST_REDIS_CLUSTER_NODES
  printf 'Redis Cluster: three primaries at %s\n' "$TEST_REDIS_CLUSTER_NODES"
}

redis_cluster_setup
