#!/bin/sh
# refresh-pgo.sh rewrites cmd/semisyncd/default.pgo, the CPU profile Go's profile-guided
# optimisation uses for every build of cmd/semisyncd (go build's default -pgo=auto):
# a semisyncd built without PGO, one sysbench table of 10k rows, and a profile taken while
# sysbench runs oltp_point_select, oltp_read_only and oltp_write_only at 16 threads, 10 s each.
# Needs sysbench and the mariadb (or mysql) client. Run from the repository root:
#
#	scripts/refresh-pgo.sh
set -eu
secs=${PGO_SECONDS:-10}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -pgo=off -o "$tmp/semisyncd" ./cmd/semisyncd
pp=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$tmp/semisyncd" serve --port 0 --pprof-addr "127.0.0.1:$pp" --log-level info >"$tmp/log" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*msg=ready addr=127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/log"; exit 1; }
sb="--db-driver=mysql --mysql-host=127.0.0.1 --mysql-port=$port --mysql-user=root --mysql-password= --mysql-db=sbtest --tables=1 --table-size=10000"
mysql -h127.0.0.1 -P"$port" -uroot -e 'CREATE DATABASE sbtest'
sysbench oltp_read_write $sb prepare >/dev/null
curl -s -o "$tmp/cpu.pprof" "http://127.0.0.1:$pp/debug/pprof/profile?seconds=$((3 * secs + 2))" &
curlpid=$!
sleep 1
for w in oltp_point_select oltp_read_only oltp_write_only; do
	sysbench "$w" $sb --threads=16 --time="$secs" run >/dev/null
done
wait "$curlpid"
go tool pprof -proto "$tmp/cpu.pprof" >cmd/semisyncd/default.pgo 2>/dev/null
echo "wrote cmd/semisyncd/default.pgo ($(wc -c <cmd/semisyncd/default.pgo) bytes)"
