#!/usr/bin/env bash
# Provisions and runs the real services the integration tests talk to, on loopback:
#   - Apache Kafka 4.1 (KRaft, single node), from Maven Central jars (scripts/kafka/pom.xml)
#   - prometheus/statsd_exporter v0.30, installed with `go install`
#   - protoc, from Debian's protobuf-compiler, to check the exported schemas
#   - chromium, Debian's, headless, to open the order flow's HTML report
#   - PostgreSQL, from Debian's postgresql, a throwaway cluster for the warehouse loader
#   - confluent-kafka, Confluent's Python client, from PyPI into a virtual environment
#   - the build's system libraries: OpenSSL headers and pkg-config (feature kafka-tls)
# The broker also listens with TLS, on a certificate made with Java's keytool, and with
# SASL/SCRAM-SHA-512 under ACLs (see start_kafka for the principals and what each may do).
#   - on demand (`cluster-start`), a 3-node KRaft cluster from the same jars: combined broker
#     and controller roles, replication factor 3, min.insync.replicas=2, for the failover test
# Usage: scripts/services.sh provision|start|stop|env|status|kafka-kill|kafka-start
#        scripts/services.sh cluster-start|cluster-kill N|cluster-launch N
#   provision installs without starting (CI runs it before building with every feature).
# Everything lives under .services/ (ignored by git); jars and binaries are cached there,
# so a second start skips the downloads. `env` prints the variables the tests read.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.services"
kafka_port=${KAFKA_TEST_PORT:-19092}
controller_port=${KAFKA_TEST_CONTROLLER_PORT:-19093}
kafka_tls_port=${KAFKA_TEST_TLS_PORT:-19094}
kafka_sasl_port=${KAFKA_TEST_SASL_PORT:-19095}
statsd_port=${STATSD_TEST_PORT:-19125}
statsd_web_port=${STATSD_TEST_WEB_PORT:-19102}
pg_port=${POSTGRES_TEST_PORT:-15432}
# The 3-node cluster: node N listens on $cluster_port_base+N, its controller on +10+N.
cluster_port_base=${KAFKA_TEST_CLUSTER_PORT_BASE:-19200}
# Outside the checkout: the server runs as the postgres user when we are root, and it must
# be able to reach its data directory wherever the repository was cloned (/root is 0700).
pg_home=${POSTGRES_TEST_HOME:-/tmp/multi-dispatch-events-postgres-$pg_port}
statsd_exporter_version=v0.30.0

log() { echo "[services] $*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # description, seconds, command...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq $((seconds * 5))); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  log "$what did not come up within ${seconds}s"
  return 1
}

provision_kafka() {
  local libs="$dir/kafka-libs" stamp
  stamp=$(sha256sum "$root/scripts/kafka/pom.xml" | cut -c1-16)
  if [[ -f "$libs/.stamp" && $(cat "$libs/.stamp") == "$stamp" ]]; then return; fi
  log "fetching Kafka jars from Maven Central"
  rm -rf "$libs"
  mvn -B -q -f "$root/scripts/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs" >&2
  echo "$stamp" > "$libs/.stamp"
}

provision_statsd_exporter() {
  local bin="$dir/bin/statsd_exporter"
  if [[ -x "$bin" ]]; then return; fi
  log "installing statsd_exporter $statsd_exporter_version with go install"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" go install "github.com/prometheus/statsd_exporter@$statsd_exporter_version" >&2
}

apt_install() {
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" >&2 \
    || { $sudo apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$@" >&2; }
}

provision_protoc() {
  if command -v protoc >/dev/null; then return; fi
  log "installing protoc from Debian's protobuf-compiler"
  apt_install protobuf-compiler
}

provision_chromium() {
  if command -v chromium >/dev/null; then return; fi
  log "installing Debian's chromium (the order flow's report, opened headless)"
  apt_install chromium
}

# A virtual environment with Confluent's Python client, for the consumer test; rebuilt
# when the requirements change.
provision_python() {
  local venv="$dir/python" stamp
  stamp=$(sha256sum "$root/scripts/python-requirements.txt" | cut -c1-16)
  if [[ -f "$venv/.stamp" && $(cat "$venv/.stamp") == "$stamp" ]]; then return; fi
  log "installing confluent-kafka from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$root/scripts/python-requirements.txt" >&2
  echo "$stamp" > "$venv/.stamp"
}

provision_build_libraries() {
  if pkg-config --exists openssl 2>/dev/null; then return; fi
  log "installing OpenSSL headers and pkg-config from Debian (librdkafka with TLS)"
  apt_install libssl-dev pkg-config
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

provision_postgres() {
  if [[ -n "$(pg_bin)" ]]; then return; fi
  log "installing PostgreSQL from Debian's postgresql"
  apt_install postgresql
}

# PostgreSQL refuses to run as root: a root shell runs it as the package's postgres user.
as_pg_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local home="$pg_home" bin
  bin=$(pg_bin)
  if [[ -f "$home/data/postmaster.pid" ]] && port_open "$pg_port"; then return; fi
  rm -rf "$home" && mkdir -p "$home"
  if [[ $(id -u) -eq 0 ]]; then chown postgres: "$home"; fi
  as_pg_owner "$bin/initdb" -D "$home/data" -U postgres --auth=trust -E UTF8 --no-locale >"$home/initdb.log" 2>&1 \
    || { cat "$home/initdb.log" >&2; return 1; }
  # The loader's own role signs in with its password (the first matching line wins); the
  # other tests connect as the superuser, trusted on loopback.
  as_pg_owner sed -i "1i host all $pg_loader_role 127.0.0.1/32 scram-sha-256" "$home/data/pg_hba.conf"
  as_pg_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$home" start >&2 \
    || { tail -30 "$home/server.log" >&2; return 1; }
  # The loader's role: it may sign in and create tables in a schema a database's owner
  # gives it (tests/kafka_security.rs), and nothing else.
  "$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $pg_loader_role LOGIN PASSWORD '$(pg_loader_password)'" >&2
  log "PostgreSQL is up on 127.0.0.1:$pg_port (data and logs in $home)"
}

pg_loader_role=events_loader

pg_loader_password() {
  local file="$pg_home/loader.password"
  if [[ ! -s "$file" ]]; then (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$file"); fi
  cat "$file"
}

stop_postgres() {
  local home="$pg_home"
  [[ -f "$home/data/postmaster.pid" ]] || return 0
  as_pg_owner "$(pg_bin)/pg_ctl" -D "$home/data" -m fast -w stop >&2 || true
}

start_kafka() {
  local home="$dir/kafka"
  if [[ -f "$home/pid" ]] && kill -0 "$(cat "$home/pid")" 2>/dev/null; then return; fi
  rm -rf "$home" && mkdir -p "$home/data" "$home/tls"
  local broker_password; broker_password=$(sasl_password broker)
  # A self-signed certificate for 127.0.0.1; clients trust it through ca.pem.
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 30 -dname "CN=127.0.0.1" \
    -ext SAN=IP:127.0.0.1,DNS:localhost -keystore "$home/tls/broker.p12" -storetype PKCS12 \
    -storepass changeit -keypass changeit -noprompt >"$home/tls/keytool.log" 2>&1 \
    || { cat "$home/tls/keytool.log" >&2; return 1; }
  keytool -exportcert -rfc -alias broker -keystore "$home/tls/broker.p12" -storetype PKCS12 \
    -storepass changeit -file "$home/tls/ca.pem" >>"$home/tls/keytool.log" 2>&1
  cat > "$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port,SSL://127.0.0.1:$kafka_tls_port,SASL_PLAINTEXT://127.0.0.1:$kafka_sasl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port,SSL://127.0.0.1:$kafka_tls_port,SASL_PLAINTEXT://127.0.0.1:$kafka_sasl_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
# ACLs decide, and a principal with none may do nothing. The broker's own principal is the
# only super user; the controller listener authenticates it (SASL/PLAIN, its one user), so
# no anonymous client there is trusted. The plain and TLS listeners' anonymous clients (the
# other tests) get ALL through ACLs, not as super users; SASL principals get only theirs.
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="$broker_password" user_broker="$broker_password";
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.location=$home/tls/broker.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=changeit
ssl.key.password=changeit
inter.broker.listener.name=PLAINTEXT
log.dirs=$home/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# A test broker, not an archive: each partition keeps its last 1 to 2 GiB (whole 1 GiB
# segments, the default size), so hours of benchmarks do not fill the disk. Smaller
# segments would bound it tighter, but roll and delete files during the timed runs.
log.retention.bytes=1073741824
PROPS
  cat > "$home/log4j2.properties" <<PROPS
appender.file.type=File
appender.file.name=file
appender.file.fileName=$home/broker.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
PROPS
  local cluster_id user scram=()
  for user in "${sasl_users[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(sasl_password "$user")]")
  done
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server.properties" -g "${scram[@]}" \
    >"$home/format.log" 2>&1 || { cat "$home/format.log" >&2; return 1; }
  launch_kafka
  grant_acls
}

# The SCRAM users, made when the broker is formatted, each with a fresh random password
# (in .services/kafka/sasl/, read by `env`), so a test's output can be searched for them:
#   broker           the broker itself, the only super user (it also grants the ACLs)
#   events-producer  WRITE and DESCRIBE on topics starting "sec."
#   events-loader    READ on topics starting "sec." and on groups starting "sec-loader"
#   no-write         READ and DESCRIBE on topics starting "sec.", IDEMPOTENT_WRITE on the
#                    cluster, but no WRITE
#   no-acl           no ACL at all
sasl_users=(broker events-producer events-loader no-write no-acl)

sasl_password() {
  local file="$dir/kafka/sasl/$1.password"
  if [[ ! -s "$file" ]]; then
    mkdir -p "$dir/kafka/sasl" && chmod 700 "$dir/kafka/sasl"
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$file")
  fi
  cat "$file"
}

# One AclCommand per principal, as the broker over SCRAM.
grant_acls() {
  local admin="$dir/kafka/sasl/admin.properties"
  cat > "$admin" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$(sasl_password broker)";
PROPS
  acl() { kafka_java org.apache.kafka.tools.AclCommand --bootstrap-server "127.0.0.1:$kafka_sasl_port" \
      --command-config "$admin" --add "$@" >>"$dir/kafka/acls.log" 2>&1 \
      || { tail -30 "$dir/kafka/acls.log" >&2; return 1; }; }
  acl --allow-principal User:ANONYMOUS --operation All --cluster --topic '*' --group '*' --transactional-id '*'
  acl --allow-principal User:events-producer --operation Write --operation Describe \
    --topic sec. --resource-pattern-type prefixed
  acl --allow-principal User:events-loader --operation Read --operation Describe \
    --topic sec. --group sec-loader --resource-pattern-type prefixed
  acl --allow-principal User:no-write --operation Read --operation Describe \
    --topic sec. --resource-pattern-type prefixed
  # So the idempotent producer gets its id, and only the topic's WRITE is missing.
  acl --allow-principal User:no-write --operation IdempotentWrite --cluster
  log "ACLs granted for ${sasl_users[*]} (SASL on 127.0.0.1:$kafka_sasl_port)"
}

kafka_java() {
  java -Xms256m -Xmx512m -Dlog4j2.configurationFile="$dir/kafka/log4j2.properties" -cp "$dir/kafka-libs/*" "$@"
}

# Starts the formatted broker, keeping its data: also how the fault tests restart it.
launch_kafka() {
  local home="$dir/kafka"
  nohup java -Xms256m -Xmx512m -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$dir/kafka-libs/*" \
    kafka.Kafka "$home/server.properties" >>"$home/stdout.log" 2>&1 &
  echo $! > "$home/pid"
  wait_for "Kafka on 127.0.0.1:$kafka_port" 120 port_open "$kafka_port" \
    || { tail -50 "$home/stdout.log" "$home/broker.log" >&2 || true; return 1; }
  log "Kafka is up on 127.0.0.1:$kafka_port (pid $(cat "$home/pid"), logs in $home)"
}

cluster_node_port() { echo $((cluster_port_base + $1)); }
cluster_controller_port() { echo $((cluster_port_base + 10 + $1)); }

cluster_bootstrap() {
  echo "127.0.0.1:$(cluster_node_port 1),127.0.0.1:$(cluster_node_port 2),127.0.0.1:$(cluster_node_port 3)"
}

# Formats and starts the three nodes, once per run: a second call finds them running.
start_cluster() {
  local home="$dir/cluster" voters="" node cluster_id
  if [[ -f "$home/ready" ]]; then
    for node in 1 2 3; do
      if ! kill -0 "$(cat "$home/node$node/pid" 2>/dev/null)" 2>/dev/null; then launch_cluster_node "$node"; fi
    done
    return
  fi
  rm -rf "$home" && mkdir -p "$home"
  for node in 1 2 3; do
    voters+="${voters:+,}$node@127.0.0.1:$(cluster_controller_port "$node")"
  done
  cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  for node in 1 2 3; do
    mkdir -p "$home/node$node/data"
    cat > "$home/node$node/server.properties" <<PROPS
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(cluster_node_port "$node"),CONTROLLER://127.0.0.1:$(cluster_controller_port "$node")
advertised.listeners=PLAINTEXT://127.0.0.1:$(cluster_node_port "$node")
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$home/node$node/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=true
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
PROPS
    sed "s|$dir/kafka/broker.log|$home/node$node/broker.log|" "$dir/kafka/log4j2.properties" > "$home/node$node/log4j2.properties"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$home/node$node/server.properties" >"$home/node$node/format.log" 2>&1 \
      || { cat "$home/node$node/format.log" >&2; return 1; }
  done
  for node in 1 2 3; do launch_cluster_node "$node" nowait; done
  for node in 1 2 3; do
    wait_for "cluster node $node on 127.0.0.1:$(cluster_node_port "$node")" 120 port_open "$(cluster_node_port "$node")" \
      || { tail -50 "$home/node$node/stdout.log" "$home/node$node/broker.log" >&2 || true; return 1; }
  done
  touch "$home/ready"
  log "3-node Kafka cluster is up on $(cluster_bootstrap) (logs in $home)"
}

# Starts one formatted node, keeping its data: also how the failover test restarts it.
launch_cluster_node() {
  local node=$1 home="$dir/cluster/node$1"
  # A small heap: three of them run beside the single test broker on two cores.
  nohup java -Xms128m -Xmx384m -Dlog4j2.configurationFile="$home/log4j2.properties" -cp "$dir/kafka-libs/*" \
    kafka.Kafka "$home/server.properties" >>"$home/stdout.log" 2>&1 &
  echo $! > "$home/pid"
  [[ ${2:-} == nowait ]] && return
  wait_for "cluster node $node" 120 port_open "$(cluster_node_port "$node")" \
    || { tail -50 "$home/stdout.log" >&2 || true; return 1; }
}

kill_cluster_node() {
  local pidfile="$dir/cluster/node$1/pid" pid
  pid=$(cat "$pidfile")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

stop_cluster() {
  local node
  for node in 1 2 3; do stop_one "cluster/node$node"; done
  rm -rf "$dir/cluster"
}

start_statsd_exporter() {
  local home="$dir/statsd"
  if [[ -f "$home/pid" ]] && kill -0 "$(cat "$home/pid")" 2>/dev/null; then return; fi
  rm -rf "$home" && mkdir -p "$home"
  # A receive buffer that holds a test's whole burst: loopback UDP drops silently when it
  # fills, and on two busy cores the exporter can be off the CPU for a while (the kernel
  # caps the size at net.core.rmem_max).
  nohup "$dir/bin/statsd_exporter" \
    --statsd.listen-udp="127.0.0.1:$statsd_port" \
    --statsd.read-buffer=4194304 \
    --statsd.listen-tcp="" \
    --statsd.listen-unixgram="$home/dsd.socket" \
    --web.listen-address="127.0.0.1:$statsd_web_port" \
    --log.level=warn >"$home/stdout.log" 2>&1 &
  echo $! > "$home/pid"
  wait_for "statsd_exporter on 127.0.0.1:$statsd_web_port" 30 port_open "$statsd_web_port" \
    || { tail -20 "$home/stdout.log" >&2; return 1; }
  log "statsd_exporter is up: UDP 127.0.0.1:$statsd_port, metrics http://127.0.0.1:$statsd_web_port/metrics"
}

stop_one() {
  local pidfile="$dir/$1/pid"
  [[ -f "$pidfile" ]] || return 0
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

print_env() {
  cat <<ENV
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_port
export KAFKA_TEST_LIBS=$dir/kafka-libs
export KAFKA_TEST_HOME=$dir/kafka
export KAFKA_TLS_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_tls_port
export KAFKA_CLUSTER_BOOTSTRAP_SERVERS=$(cluster_bootstrap)
export KAFKA_TEST_SERVICES=$root/scripts/services.sh
export KAFKA_TLS_CA_LOCATION=$dir/kafka/tls/ca.pem
export KAFKA_SASL_BOOTSTRAP_SERVERS=127.0.0.1:$kafka_sasl_port
$(for user in "${sasl_users[@]:1}"; do
    [[ -s "$dir/kafka/sasl/$user.password" ]] || continue
    echo "export KAFKA_SASL_PASSWORD_$(echo "$user" | tr a-z- A-Z_)=$(cat "$dir/kafka/sasl/$user.password")"
  done)
export CONFLUENT_KAFKA_PYTHON=$dir/python/bin/python
export STATSD_EXPORTER_UDP=127.0.0.1:$statsd_port
export STATSD_EXPORTER_UNIXGRAM=$dir/statsd/dsd.socket
export STATSD_EXPORTER_METRICS=http://127.0.0.1:$statsd_web_port/metrics
export POSTGRES_TEST_URL=postgresql://postgres@127.0.0.1:$pg_port/postgres
export POSTGRES_LOADER_ROLE=$pg_loader_role
$([[ -s "$pg_home/loader.password" ]] && echo "export POSTGRES_LOADER_PASSWORD=$(cat "$pg_home/loader.password")")
ENV
}

provision() {
  mkdir -p "$dir"
  provision_build_libraries
  provision_kafka
  provision_statsd_exporter
  provision_protoc
  provision_chromium
  provision_postgres
  provision_python
}

case "${1:-}" in
  provision) provision ;;
  start)
    provision
    start_kafka
    start_statsd_exporter
    start_postgres
    ;;
  stop)
    stop_postgres
    stop_one statsd
    stop_one kafka
    stop_cluster
    # `start` makes a new broker and database anyway; their data would only take disk (the
    # logs stay for reading).
    rm -rf "$dir/kafka/data" "$pg_home/data"
    ;;
  env) print_env ;;
  # For the fault tests: kill the broker like a crash (SIGKILL), and start it again.
  kafka-kill)
    pid=$(cat "$dir/kafka/pid")
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/kafka/pid"
    ;;
  kafka-start) launch_kafka ;;
  cluster-start) start_cluster ;;
  cluster-kill) kill_cluster_node "${2:?node 1, 2 or 3}" ;;
  cluster-launch) launch_cluster_node "${2:?node 1, 2 or 3}" ;;
  status)
    port_open "$kafka_port" && log "Kafka up" || log "Kafka down"
    port_open "$statsd_web_port" && log "statsd_exporter up" || log "statsd_exporter down"
    port_open "$pg_port" && log "PostgreSQL up" || log "PostgreSQL down"
    ;;
  *) echo "usage: $0 provision|start|stop|env|status|kafka-kill|kafka-start|cluster-start|cluster-kill N|cluster-launch N" >&2; exit 2 ;;
esac
