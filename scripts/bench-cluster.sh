#!/usr/bin/env bash
# bench-cluster.sh AGENTS TASKS [extra berth bench cluster flags...]
#
# Starts a ZooKeeper of its own from Debian's zookeeper package, as testenv
# does, but sized for the cluster benchmark: a 4 GiB heap and
# maxClientCnxns=0 (every simulated agent's session comes from 127.0.0.1),
# then runs `bin/berth bench cluster` against it and stops it. Like the
# tests' ZooKeeper it does not fsync each write (forceSync=no): the
# benchmark measures Berth and ZooKeeper, not the disk.
set -euo pipefail

agents=${1:-500}
tasks=${2:-15000}
shift 2 || true
berth=${BERTH:-bin/berth}
heap=${ZK_HEAP:-4g}
# ZK_LOG_KEEP=FILE keeps a copy of ZooKeeper's log (and FILE.gc, its GC log)
# after the run; ZK_LOG_LEVEL (WARN) is ZooKeeper's log level.
zk_log_level=${ZK_LOG_LEVEL:-WARN}

[ -f /usr/share/java/zookeeper.jar ] || { echo "ZooKeeper is not installed: run make deps" >&2; exit 1; }
command -v java >/dev/null || { echo "java not found: run make deps" >&2; exit 1; }

dir=$(mktemp -d /tmp/berth-bench-zk-XXXXXX)
zk_pid=
cleanup() {
	if [ -n "$zk_pid" ]; then
		kill "$zk_pid" 2>/dev/null || true
		wait "$zk_pid" 2>/dev/null || true
	fi
	if [ -n "${ZK_LOG_KEEP:-}" ] && [ -f "$dir/zookeeper.log" ]; then
		cp "$dir/zookeeper.log" "$ZK_LOG_KEEP" || true
		cp "$dir/gc.log" "$ZK_LOG_KEEP.gc" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${ZK_PORT:-}
if [ -z "$port" ]; then
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if port_free "$p"; then port=$p; break; fi
	done
fi
[ -n "$port" ] || { echo "no free port for ZooKeeper" >&2; exit 1; }

mkdir -p "$dir/data"
cat >"$dir/zoo.cfg" <<CFG
tickTime=1000
initLimit=20
syncLimit=4
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
forceSync=no
autopurge.purgeInterval=0
CFG

# ZooKeeper's jar names its dependencies but no logging backend: with
# /usr/share/java/* on the class path SLF4J picks slf4j-nop first and the
# server logs nothing at all, which hid why sessions were dropped. Name the
# log4j binding that /etc/zookeeper/conf/log4j.properties configures.
classpath=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
# Every simulated agent's session is one socket in this shell's benchmark
# process and one in ZooKeeper's JVM (both raise their soft limit to the
# hard one): the hard limit must exceed the sessions with room for files.
need_fds=$((agents + 2048))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need_fds" ]; then
	echo "bench-cluster: $agents sessions need $need_fds open files; the hard limit is $(ulimit -Hn) (raise it: ulimit -Hn, LimitNOFILE=)" >&2
	exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The GC log tells a ZooKeeper pause (every session expiring at once because
# the server stopped) from clients that stopped pinging.
java -Xms"$heap" -Xmx"$heap" -Xlog:gc:file="$dir/gc.log":time,uptime \
	-Dzookeeper.root.logger="$zk_log_level",CONSOLE -Dzookeeper.log.dir="$dir" \
	-cp "$classpath" \
	org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
zk_pid=$!

for _ in $(seq 120); do
	# A server still starting may accept and never answer: bound each try.
	if out=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && echo srvr >&3 && cat <&3" 2>/dev/null) &&
		grep -q '^Mode: standalone' <<<"$out"; then
		break
	fi
	kill -0 "$zk_pid" 2>/dev/null || { echo "ZooKeeper exited:" >&2; cat "$dir/zookeeper.log" >&2; exit 1; }
	sleep 0.5
done

echo "# ZooKeeper 127.0.0.1:$port (heap $heap, maxClientCnxns=0); load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rc=0
"$berth" bench cluster --zk "zk://127.0.0.1:$port/bench" --agents "$agents" --tasks "$tasks" "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "# bench cluster failed ($rc); the end of ZooKeeper's log:" >&2
	tail -n 40 "$dir/zookeeper.log" >&2
fi
exit "$rc"
