#!/usr/bin/env bash
# Tiny pairs across implementations and transports; exits non-zero if any tool reports a status
# other than ok. Run from bench/ after `make all` (make smoke does both).
set -u
cd "$(dirname "$0")/.."
PAIR_TIMEOUT=${PAIR_TIMEOUT:-15}
. scripts/lib.sh
fail=0
start=$(date +%s)
for pair in zloop:zloop libzmq:libzmq zloop:libzmq libzmq:zloop; do
	s=${pair%%:*} r=${pair##*:}
	run_pair thr "$s" "$r" tcp 64 2000 --check || fail=1
	run_pair thr "$s" "$r" ipc 64 2000 --check || fail=1
	run_pair lat "$s" "$r" tcp 64 200 || fail=1
	run_pair lat "$s" "$r" ipc 64 200 || fail=1
done
echo "smoke: $(( $(date +%s) - start )) s, $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
