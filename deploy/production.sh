#!/usr/bin/env bash
# kamflow's production shape on one machine, on loopback: a private PostgreSQL cluster holding the domain
# database (kamflow) and the Prefect server's (prefect), the Prefect server with API authentication, kamflow's
# own server (the HTTP API people's commands reach, KAMFLOW_AUTH=required), the crash detection, and N supervised
# `kamflow worker`s, each serving every deployment (registered by the workers themselves) and starting each run's
# process from a warm fork server. Only the servers and the workers hold the database credentials and the secret
# key; the client settings hold neither.
#
#   deploy/production.sh up [--demo]   start what is not running (--demo: fill a new domain database with
#                                      the demo company); safe to repeat; a restart keeps every waiting run
#   deploy/production.sh down          stop workers (and the flow runs they hold), server, PostgreSQL
#   deploy/production.sh status        one line per part; exit 0 only if everything runs
#   deploy/production.sh env           the client settings: eval "$(deploy/production.sh env)"
#   deploy/production.sh server-env    the server machine's settings, for operators' commands run beside the
#                                      database (import, review, audit verify): never hand these to clients
# On several machines (deploy/README.md), with PREFECT_API_URL, PREFECT_API_AUTH_STRING (and, for workers,
# KAMFLOW_PREFECT_API_URL, KAMFLOW_DATABASE_URL and KAMFLOW_SECRET_KEY) pointing at the server machine:
#   deploy/production.sh deploy        the crash detection (the workers register the deployments)
#   deploy/production.sh workers       N supervised workers on this machine (down/status as above)
#
# Settings (environment; defaults in brackets):
#   KAMFLOW_PROD_DIR [data/production]  state: PostgreSQL data, logs, pid files, secrets (mode 600)
#   KAMFLOW_PG_PORT [55433]             PostgreSQL on 127.0.0.1
#   KAMFLOW_PREFECT_PORT [4200]         Prefect server and UI on 127.0.0.1
#   KAMFLOW_WEB_PORT [8040]             kamflow's server (HTTP API, workspace) on 127.0.0.1
#   KAMFLOW_WORKERS [2]                 workers, each running at most KAMFLOW_WORKER_LIMIT [2] runs at once
#   KAMFLOW_REVIEW_SHARDS [2]           shards of the scheduled nightly review (keep workers x limit above it)
#   KAMFLOW_WARM_WAIT_SECONDS [0]       how long a run that waits for a person keeps its process (and its slot)
#   KAMFLOW_HEARTBEAT_SECONDS [30]      flow run heartbeat (Prefect's minimum is 30)
#   KAMFLOW_CRASH_AFTER_SECONDS [90]    a running or claimed flow run silent this long is marked Crashed
set -euo pipefail
umask 077  # every file made here (secrets, settings, logs, databases) is its owner's alone

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF=$ROOT/deploy/production.sh
STATE=${KAMFLOW_PROD_DIR:-$ROOT/data/production}
[ "${STATE:0:1}" = / ] || STATE=$PWD/$STATE
PG_PORT=${KAMFLOW_PG_PORT:-55433}
PREFECT_PORT=${KAMFLOW_PREFECT_PORT:-4200}
WEB_PORT=${KAMFLOW_WEB_PORT:-8040}
WORKERS=${KAMFLOW_WORKERS:-2}
WORKER_LIMIT=${KAMFLOW_WORKER_LIMIT:-2}
WARM_WAIT=${KAMFLOW_WARM_WAIT_SECONDS:-0}
HEARTBEAT_SECONDS=${KAMFLOW_HEARTBEAT_SECONDS:-30}
CRASH_AFTER_SECONDS=${KAMFLOW_CRASH_AFTER_SECONDS:-90}
VENV=$ROOT/.venv
RUN=$STATE/run
LOGS=$STATE/logs
PGHOME=$STATE/postgres
PGDATA=$PGHOME/data
SECRETS=$STATE/secrets.env
CLIENT_ENV=$STATE/kamflow.env
SERVER_ENV=$STATE/server.env
API_URL=http://127.0.0.1:$PREFECT_PORT/api
KAMFLOW_URL=http://127.0.0.1:$WEB_PORT
APP_ROLE=kamflow_app
READ_ROLE=kamflow_read
ZOMBIE_AUTOMATION="kamflow: mark silent runs crashed"

say() { echo "production: $*"; }
die() { echo "production: $*" >&2; exit 1; }
# A killed process stays a zombie until init reaps it: that is not running.
live() { local stat; stat=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${stat:0:1}" != Z ]; }
alive() { [ -f "$1" ] && live "$(cat "$1")"; }

pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || die "PostgreSQL server binaries not found (Debian: apt-get install postgresql)"
  echo "$bin"
}

# PostgreSQL refuses to run as root: as root, run it as the `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Secrets are made once; a name a newer release needs is added to an existing file.
secrets() {
  "$VENV/bin/python" - "$SECRETS" <<'EOF'
import pathlib, secrets, sys
path = pathlib.Path(sys.argv[1])
kept = path.read_text() if path.exists() else ""
wanted = {
    "PG_SUPER_PASSWORD": secrets.token_hex(16),
    "PG_KAMFLOW_PASSWORD": secrets.token_hex(16),
    "PG_APP_PASSWORD": secrets.token_hex(16),
    "PG_READ_PASSWORD": secrets.token_hex(16),
    "PG_PREFECT_PASSWORD": secrets.token_hex(16),
    "API_AUTH_STRING": f"kamflow:{secrets.token_hex(24)}",
    "KAMFLOW_SECRET_KEY": secrets.token_hex(32),
}
missing = "".join(f"{name}={value}\n" for name, value in wanted.items() if f"\n{name}=" not in "\n" + kept)
if missing:
    with path.open("a") as out:
        out.write(missing)
EOF
  # shellcheck disable=SC1090
  source "$SECRETS"
}

# The servers' and workers' settings: the application's database role and the secret key.
write_server_env() {
  cat > "$SERVER_ENV" <<EOF
export KAMFLOW_DATABASE_URL=postgresql+psycopg://$APP_ROLE:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/kamflow
export KAMFLOW_SECRET_KEY=$KAMFLOW_SECRET_KEY
export KAMFLOW_AUTH=required
export KAMFLOW_DATA_DIR=$STATE/kamflow
export KAMFLOW_PREFECT_API_URL=$API_URL
export KAMFLOW_WEB_PORT=$WEB_PORT
export KAMFLOW_SERVER_URL=$KAMFLOW_URL
export KAMFLOW_REVIEW_SHARDS=${KAMFLOW_REVIEW_SHARDS:-2}
export PREFECT_API_URL=$API_URL
export PREFECT_API_AUTH_STRING=$API_AUTH_STRING
export PREFECT_SERVER_ANALYTICS_ENABLED=false
EOF
}

# People's machines: kamflow's server and the Prefect UI; no database URL, no secret key.
write_client_env() {
  cat > "$CLIENT_ENV" <<EOF
export KAMFLOW_SERVER_URL=$KAMFLOW_URL
export KAMFLOW_AUTH=required
export PREFECT_API_URL=$API_URL
export PREFECT_API_AUTH_STRING=$API_AUTH_STRING
export PREFECT_SERVER_ANALYTICS_ENABLED=false
EOF
}

psql_super() {
  PGPASSWORD=$PG_SUPER_PASSWORD "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -tAq "$@"
}

ensure_role() {
  local name=$1 password=$2
  if [ -z "$(psql_super -c "SELECT 1 FROM pg_roles WHERE rolname = '$name'")" ]; then
    psql_super -c "CREATE ROLE $name LOGIN PASSWORD '$password'"
  fi
}

# Creates role and database NAME (owned by it) unless they exist; says "new" when it made the database.
ensure_database() {
  local name=$1 password=$2
  ensure_role "$name" "$password"
  if [ -z "$(psql_super -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    psql_super -c "CREATE DATABASE $name OWNER $name"
    psql_super -c "REVOKE ALL ON DATABASE $name FROM PUBLIC"
    echo new
  fi
}

postgres_up() {
  local bin; bin=$(pg_bin)
  mkdir -p "$PGHOME"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGHOME"; fi
  as_pg test -w "$PGHOME" || die "the postgres user cannot write $PGHOME: put KAMFLOW_PROD_DIR where it can"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    local pwfile="$PGHOME/.pw"
    (umask 077; echo "$PG_SUPER_PASSWORD" > "$pwfile")
    if [ "$(id -u)" = 0 ]; then chown postgres "$pwfile"; fi
    as_pg "$bin/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" -A scram-sha-256 -E UTF8 >/dev/null
    rm -f "$pwfile"
    say "initialised PostgreSQL cluster in $PGDATA"
  fi
  if ! pg_ready; then
    local pm
    pm=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pm" ]; then
      live "$pm" && die "PostgreSQL (pid $pm) runs but does not answer on 127.0.0.1:$PG_PORT"
      wait_gone "$pm"  # else PostgreSQL takes its stale lock file for a running server
    fi
    as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGHOME/postgres.log" -w -t 60 start \
      -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGHOME" >/dev/null \
      || die "PostgreSQL did not start; see $PGHOME/postgres.log"
  fi
  say "PostgreSQL on 127.0.0.1:$PG_PORT"
}

# The owner `kamflow` migrates and grants; the application connects as $APP_ROLE (rows, never the tables),
# reports as $READ_ROLE (reads).
domain_up() {
  local fresh; fresh=$(ensure_database kamflow "$PG_KAMFLOW_PASSWORD")
  ensure_database prefect "$PG_PREFECT_PASSWORD" >/dev/null
  ensure_role "$APP_ROLE" "$PG_APP_PASSWORD"
  ensure_role "$READ_ROLE" "$PG_READ_PASSWORD"
  psql_super -c "GRANT CONNECT ON DATABASE kamflow TO $APP_ROLE, $READ_ROLE"
  local args=(init --app-role "$APP_ROLE" --read-role "$READ_ROLE") made=""
  if [ "$fresh" = new ] && [ "$DEMO" = 1 ]; then
    args+=(--demo --customers "${KAMFLOW_DEMO_CUSTOMERS:-200}")
    made=" and filled with the demo company"
  fi
  (source "$SERVER_ENV" \
    && KAMFLOW_DATABASE_URL=postgresql+psycopg://kamflow:$PG_KAMFLOW_PASSWORD@127.0.0.1:$PG_PORT/kamflow \
      "$VENV/bin/kamflow" "${args[@]}") >/dev/null || die "kamflow init failed"
  say "domain database kamflow migrated$made; the application connects as $APP_ROLE"
}

pg_ready() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

wait_gone() {
  local deadline=$((SECONDS + 30))
  while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
}

api_ready() { curl -sf -o /dev/null "$API_URL/health"; }

# Background processes of a non-interactive shell start with SIGINT ignored, and Prefect stops on
# SIGTERM by raising SIGINT: give its processes the default handlers back, each in its own session.
spawn() {
  local log=$1; shift
  setsid env --default-signal=INT,TERM "$@" >>"$log" 2>&1 </dev/null &
  echo $!
}

server_up() {
  if alive "$RUN/server.pid" && api_ready; then
    say "Prefect server already running"; return
  fi
  spawn "$LOGS/server.log" env \
    PREFECT_HOME="$STATE/prefect-server" \
    PREFECT_SERVER_DATABASE_CONNECTION_URL="postgresql+asyncpg://prefect:$PG_PREFECT_PASSWORD@127.0.0.1:$PG_PORT/prefect" \
    PREFECT_SERVER_API_AUTH_STRING="$API_AUTH_STRING" \
    PREFECT_UI_API_URL="${PREFECT_UI_API_URL:-$API_URL}" \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_UI_SHOW_PROMOTIONAL_CONTENT=false \
    "$VENV/bin/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT" > "$RUN/server.pid"
  local deadline=$((SECONDS + 120))
  until api_ready; do
    alive "$RUN/server.pid" || die "the Prefect server stopped; see $LOGS/server.log"
    [ $SECONDS -lt $deadline ] || die "the Prefect server did not answer in 120 s; see $LOGS/server.log"
    sleep 0.5
  done
  say "Prefect server and UI on http://127.0.0.1:$PREFECT_PORT"
}

kamflow_ready() { curl -sf -o /dev/null "$KAMFLOW_URL/api/health"; }

kamflow_server_up() {
  if alive "$RUN/kamflow-server.pid" && kamflow_ready; then
    say "kamflow's server already running"; return
  fi
  (source "$SERVER_ENV" && spawn "$LOGS/kamflow-server.log" "$VENV/bin/kamflow" server) > "$RUN/kamflow-server.pid"
  local deadline=$((SECONDS + 60))
  until kamflow_ready; do
    alive "$RUN/kamflow-server.pid" || die "kamflow's server stopped; see $LOGS/kamflow-server.log"
    [ $SECONDS -lt $deadline ] || die "kamflow's server did not answer in 60 s; see $LOGS/kamflow-server.log"
    sleep 0.5
  done
  say "kamflow's server (HTTP API, KAMFLOW_AUTH=required) on $KAMFLOW_URL"
}

prefect_client() {
  (source "$CLIENT_ENV" && PREFECT_HOME="$STATE/prefect-client" "$VENV/bin/prefect" --no-prompt "$@")
}

detection_up() {
  # A worker that dies with its machine leaves its runs Running: heartbeats stop, and this marks them Crashed.
  # A run it had claimed (Pending) and not yet started, which never sent a heartbeat, likewise.
  # A run waiting for a person sends heartbeats while its process watches it (the warm wait, flows/human.py),
  # and that process says kamflow.flow-run.released when it lets the run go. A claimed run put back to wait for a
  # later start (an operator's reschedule, a retry) is silent until then, as a scheduled run is.
  prefect_client automation delete "$ZOMBIE_AUTOMATION" >/dev/null 2>&1 || true
  prefect_client automation create --from-json "$(cat <<EOF
{"name": "$ZOMBIE_AUTOMATION",
 "description": "A flow run that sent no heartbeat for $CRASH_AFTER_SECONDS s has lost its process: mark it Crashed.",
 "trigger": {"type": "event", "posture": "Proactive", "within": $CRASH_AFTER_SECONDS, "threshold": 1,
   "match": {"prefect.resource.id": "prefect.flow-run.*"}, "for_each": ["prefect.resource.id"],
   "after": ["prefect.flow-run.heartbeat", "prefect.flow-run.Pending"],
   "expect": ["prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
              "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed", "prefect.flow-run.Suspended",
              "prefect.flow-run.Paused", "prefect.flow-run.Scheduled", "prefect.flow-run.AwaitingRetry",
              "kamflow.flow-run.released"]},
 "actions": [{"type": "change-flow-run-state", "state": "CRASHED",
              "message": "No heartbeat for $CRASH_AFTER_SECONDS s: its worker or machine died."}]}
EOF
)" >/dev/null
  say "crash detection: a run silent for $CRASH_AFTER_SECONDS s is marked Crashed"
}

# One supervisor per worker (its own session): restarts the worker when it dies, until `down`.
supervise() {
  local i=$1
  while [ ! -e "$RUN/stopping" ]; do
    env --default-signal=INT,TERM \
      PREFECT_HOME="$STATE/worker-$i" PREFECT_FLOWS_HEARTBEAT_FREQUENCY="$HEARTBEAT_SECONDS" \
      PREFECT_RESULTS_PERSIST_BY_DEFAULT=true PREFECT_LOCAL_STORAGE_PATH="$STATE/results" \
      KAMFLOW_WARM_WAIT_SECONDS="$WARM_WAIT" "$VENV/bin/kamflow" worker --limit "$WORKER_LIMIT" &
    echo $! > "$RUN/worker-$i.pid"
    wait $! || true
    [ -e "$RUN/stopping" ] && break
    echo "$(date -Is) worker $i exited; restarting it"
    sleep 2
  done
}

# Starts the workers that are not running and waits until each serves (has registered every deployment).
workers_up() {
  rm -f "$RUN/stopping"
  local i log started=()
  for i in $(seq 1 "$WORKERS"); do
    if alive "$RUN/supervisor-$i.pid"; then continue; fi
    log=$LOGS/worker-$i.log
    started+=("$i:$(stat -c %s "$log" 2>/dev/null || echo 0)")
    (source "$SERVER_ENV" && spawn "$log" "$SELF" _supervise "$i") > "$RUN/supervisor-$i.pid"
  done
  local deadline=$((SECONDS + 120)) each
  for each in "${started[@]}"; do
    i=${each%%:*}
    until tail -c +$((${each#*:} + 1)) "$LOGS/worker-$i.log" | grep -q "^kamflow worker: "; do
      alive "$RUN/supervisor-$i.pid" || die "worker $i stopped; see $LOGS/worker-$i.log"
      [ $SECONDS -lt $deadline ] || die "worker $i did not serve in 120 s; see $LOGS/worker-$i.log"
      sleep 0.5
    done
  done
  say "$WORKERS workers serving every deployment (limit $WORKER_LIMIT runs each); logs in $LOGS"
}

descendants() {
  local child
  for child in $(pgrep -P "$1" || true); do
    echo "$child"
    descendants "$child"
  done
}

# Stop a process and everything it started (flow runs live in sessions of their own): TERM, then KILL.
stop_tree() {
  local pidfile=$1 pids pid deadline
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  pids="$pid $(descendants "$pid")"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ]; do
    local left=""
    for pid in $pids; do live "$pid" && left="$left $pid"; done
    [ -n "$left" ] || break
    sleep 0.5
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  rm -f "$pidfile"
}

down() {
  [ -d "$RUN" ] || { say "nothing runs from $STATE"; return 0; }
  touch "$RUN/stopping"
  local f
  for f in "$RUN"/supervisor-*.pid; do
    [ -e "$f" ] && stop_tree "$f"
  done
  rm -f "$RUN"/worker-*.pid
  stop_tree "$RUN/kamflow-server.pid"
  stop_tree "$RUN/server.pid"
  local pm
  pm=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
  if [ -n "$pm" ] && live "$pm"; then
    as_pg "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  say "stopped"
}

status() {
  local ok=0 i
  if [ "$(cat "$STATE/role" 2>/dev/null)" != workers ]; then
    if pg_ready; then
      echo "postgres: running on 127.0.0.1:$PG_PORT"
    else
      echo "postgres: stopped"; ok=1
    fi
    if alive "$RUN/server.pid" && api_ready; then
      echo "server: running, UI http://127.0.0.1:$PREFECT_PORT"
    else
      echo "server: stopped"; ok=1
    fi
    if alive "$RUN/kamflow-server.pid" && kamflow_ready; then
      echo "kamflow server: running on $KAMFLOW_URL"
    else
      echo "kamflow server: stopped"; ok=1
    fi
  fi
  for i in $(seq 1 "$WORKERS"); do
    if alive "$RUN/worker-$i.pid"; then
      echo "worker $i: running (pid $(cat "$RUN/worker-$i.pid"))"
    else
      echo "worker $i: stopped"; ok=1
    fi
  done
  return $ok
}

# `workers` and `deploy` act on another machine's server and database: the caller's environment says where.
from_environment() {
  local name
  for name in "$@"; do
    [ -n "${!name:-}" ] || die "set $name (deploy/README.md: several machines)"
  done
  CLIENT_ENV=/dev/null
  SERVER_ENV=/dev/null
}

cmd=${1:-help}; shift || true
case "$cmd" in
  up)
    DEMO=""
    [ "${1:-}" = --demo ] && DEMO=1
    mkdir -p "$RUN" "$LOGS"
    [ -x "$VENV/bin/prefect" ] || "$ROOT/dev" setup
    secrets
    write_server_env
    write_client_env
    echo all > "$STATE/role"
    postgres_up
    domain_up
    server_up
    kamflow_server_up
    detection_up
    workers_up
    say "ready. Clients: eval \"\$($SELF env)\", then kamflow login; UI: http://127.0.0.1:$PREFECT_PORT (log in with \$PREFECT_API_AUTH_STRING)"
    ;;
  workers)
    from_environment PREFECT_API_URL PREFECT_API_AUTH_STRING KAMFLOW_PREFECT_API_URL KAMFLOW_DATABASE_URL KAMFLOW_SECRET_KEY
    mkdir -p "$RUN" "$LOGS"
    echo workers > "$STATE/role"
    workers_up
    ;;
  deploy)
    from_environment PREFECT_API_URL PREFECT_API_AUTH_STRING
    mkdir -p "$LOGS"
    detection_up
    ;;
  down) down ;;
  status) status ;;
  env) [ -f "$CLIENT_ENV" ] || die "no $CLIENT_ENV: run \`$SELF up\` first"; cat "$CLIENT_ENV" ;;
  server-env) [ -f "$SERVER_ENV" ] || die "no $SERVER_ENV: run \`$SELF up\` first"; cat "$SERVER_ENV" ;;
  _supervise) supervise "$1" ;;
  *) sed -n '2,30p' "$0"; exit 2 ;;
esac
