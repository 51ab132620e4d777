#!/usr/bin/env bash
# The side-by-side run: every test for every pair, ROUNDS times interleaved (round 1 of every
# test and pair, then round 2, ...), so that drift on this shared machine spreads over all pairs.
# Raw lines go to results/<date>.txt, per-group medians to results/<date>-summary.txt.
# Run from bench/ after `make all` (make run does both). Environment: ROUNDS (3), PAIRS, TESTS.
set -u
cd "$(dirname "$0")/.."
PAIR_TIMEOUT=${PAIR_TIMEOUT:-150}
. scripts/lib.sh
ROUNDS=${ROUNDS:-3}
PAIRS=${PAIRS:-"zloop:zloop libzmq:libzmq zloop:libzmq libzmq:zloop"}
# tool:size:count
TESTS=${TESTS:-"thr:64:2000000 thr:1024:500000 thr:65536:20000 lat:64:20000"}
TRANSPORT=${TRANSPORT:-tcp}
day=$(date +%Y-%m-%d)
out=${OUT:-results/$day.txt}
mkdir -p "$(dirname "$out")"
{
	echo "# run $(date -u +%Y-%m-%dT%H:%M:%SZ) host=$(uname -nr | tr ' ' _) cpus=$(nproc) go=$(go env GOVERSION) libzmq=$(pkg-config --modversion libzmq 2>/dev/null || echo ?)"
	echo "# rounds=$ROUNDS transport=$TRANSPORT pairs=${PAIRS// /,} tests=${TESTS// /,}"
} >>"$out"
fail=0
for round in $(seq 1 "$ROUNDS"); do
	for test in $TESTS; do
		IFS=: read -r tool size count <<<"$test"
		for pair in $PAIRS; do
			s=${pair%%:*} r=${pair##*:}
			run_pair "$tool" "$s" "$r" "$TRANSPORT" "$size" "$count" >"$out.part" || fail=1
			sed "1s/\$/ round=$round/" "$out.part" >>"$out"
			grep -E '^RESULT .*role=(recv|req) ' "$out.part" | cut -c1-220
			rm -f "$out.part"
		done
	done
done
"$BIN"/benchsum "$out" | tee "${out%.txt}-summary.txt"
exit $fail
