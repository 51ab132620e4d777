#!/usr/bin/env bash
# Tiny pairs across implementations and transports, then the comparison runner (cmd/compare) with
# tiny counts, so that neither rots; exits non-zero if any tool reports a status other than ok or
# a tool process outlives its pair. Run from bench/ after `make all` (make smoke does both).
set -u
cd "$(dirname "$0")/.."
PAIR_TIMEOUT=${PAIR_TIMEOUT:-15}
. scripts/lib.sh
fail=0
start=$(date +%s)
for pair in zloop:zloop libzmq:libzmq zloop:libzmq libzmq:zloop \
	gozmq:gozmq libzmq-c:libzmq-c zloop:gozmq gozmq:zloop zloop:libzmq-c libzmq-c:zloop; do
	s=${pair%%:*} r=${pair##*:}
	run_pair thr "$s" "$r" tcp 64 2000 --check || fail=1
	run_pair thr "$s" "$r" ipc 64 2000 --check || fail=1
	run_pair lat "$s" "$r" tcp 64 200 || fail=1
	run_pair lat "$s" "$r" ipc 64 200 || fail=1
done
# Large messages (a few, so that it stays quick) across implementations and transports, and the
# limit line (bin/loopback), so that neither rots.
run_pair thr zloop zloop ws 1048576 20 --check || fail=1
run_pair thr zloop libzmq-c tcp 4194304 8 --check --hwm 2 || fail=1
run_pair thr libzmq-c zloop ipc 4194304 8 --check --hwm 2 || fail=1
run_pair thr loopback loopback tcp 1048576 50 --check || fail=1
run_pair thr loopback loopback ipc 1048576 50 --check || fail=1
run_pair lat loopback loopback tcp 64 200 || fail=1
# The runner itself: one round, two cross pairs, into a scratch directory (results/ is for real runs).
out=$(mktemp -d)
"$BIN"/compare -bin "$BIN" -out "$out" -name smoke -runs 1 -impls gozmq,libzmq-c \
	-pairs gozmq:libzmq-c,libzmq-c:gozmq -sizes 64 -counts 2000 -lat 64:2000 -check -timeout 15s \
	>"$out/stdout" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
for f in smoke.txt smoke.md smoke.svg; do
	[ -s "$out/$f" ] || { echo "## compare wrote no $f" >&2; fail=1; }
done
grep -c '^RESULT status=ok ' "$out/smoke.txt" | grep -qx 8 || { echo "## compare: not 8 ok RESULT lines" >&2; fail=1; }
grep '^| ' "$out/smoke.md" | grep -v -- '---' | cut -c1-150
# The large-message run in small: several transports and the limit line, one round.
"$BIN"/compare -bin "$BIN" -out "$out" -name large -runs 1 -impls zloop -pairs self -limit -transport tcp,ipc,ws \
	-sizes 1048576 -counts 20 -lat none -hwm 4 -check -timeout 15s >"$out/stdout" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
grep -c '^RESULT status=ok ' "$out/large.txt" | grep -qx 12 || { echo "## compare -limit: not 12 ok RESULT lines" >&2; fail=1; }
grep -q '% of limit' "$out/large.md" || { echo "## compare -limit: no limit column" >&2; fail=1; }
# tls and wss in small: zloop against libzmq in C behind stunnel4 both ways, and the crypto/tls limit
# line; thr at 64 B and 1 MiB with --check, and lat.
"$BIN"/compare -bin "$BIN" -out "$out" -name tls -runs 1 -impls zloop,libzmq-c -pairs zloop:libzmq-c,libzmq-c:zloop \
	-limit -transport tls,wss -sizes 64,1048576 -counts 2000,20 -lat 64:500 -check -timeout 15s \
	>"$out/stdout" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
# thr: 2 sizes x 3 pairs x 2 transports x 2 tools; lat: 2 pairs x 2 transports x 2 tools
grep -c '^RESULT status=ok ' "$out/tls.txt" | grep -qx 32 || { echo "## compare tls,wss: not 32 ok RESULT lines" >&2; fail=1; }
# the CURVE cipher alone in small: x/crypto's box and libsodium's, one run.
"$BIN"/boxbench -bin "$BIN" -runs 1 -sizes 64,65536 >"$out/box.md" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
grep -c '^| [0-9]' "$out/box.md" | grep -qx 2 || { echo "## boxbench: not 2 rows" >&2; fail=1; }
# echorss in small: both echo servers, tcp and ws, one message and several at once.
"$BIN"/echorss -bin "$BIN" -out "$out" -name echorss -impls zloop,libzmq-c -transports tcp,ws \
	-cases 1x2000000,4x500000 -timeout 15s >"$out/stdout" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
grep -c '^RESULT status=ok ' "$out/echorss.txt" | grep -qx 8 || { echo "## echorss: not 8 ok RESULT lines" >&2; fail=1; }
grep '^| ' "$out/echorss.md" | grep -v -- '---'
# swarm in small: every standard case at 100 connections, a second each, both servers.
"$BIN"/swarmbench -bin "$BIN" -out "$out" -name swarm -runs 1 -n 100 -warmup 0.2 -window 1 -timeout 30s \
	>"$out/stdout" 2>"$out/stderr" || { fail=1; cat "$out/stderr" >&2; }
grep -c '^RESULT status=ok tool=swarm ' "$out/swarm.txt" | grep -qx 12 || { echo "## swarmbench: not 12 ok RESULT lines" >&2; fail=1; }
[ -s "$out/swarm.svg" ] || { echo "## swarmbench wrote no svg" >&2; fail=1; }
grep '^| ' "$out/swarm.md" | grep -v -- '---'
rm -rf "$out"
# No tool may outlive its pair: look for processes still running one of our binaries.
left=""
for p in /proc/[0-9]*; do
	case $(readlink "$p/exe" 2>/dev/null) in "$PWD/$BIN"/*/thr | "$PWD/$BIN"/*/lat | "$PWD/$BIN"/*/echo | "$PWD/$BIN"/*/server | "$PWD/$BIN"/swarm) left="$left ${p#/proc/}" ;; esac
done
[ -z "$left" ] || { echo "## leftover tool processes:$left" >&2; fail=1; }
echo "smoke: $(( $(date +%s) - start )) s, $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
