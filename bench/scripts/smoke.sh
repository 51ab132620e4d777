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
rm -rf "$out"
# No tool may outlive its pair: look for processes still running one of our binaries.
left=""
for p in /proc/[0-9]*; do
	case $(readlink "$p/exe" 2>/dev/null) in "$PWD/$BIN"/*/thr | "$PWD/$BIN"/*/lat) left="$left ${p#/proc/}" ;; esac
done
[ -z "$left" ] || { echo "## leftover tool processes:$left" >&2; fail=1; }
echo "smoke: $(( $(date +%s) - start )) s, $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
