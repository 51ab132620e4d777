#!/usr/bin/env bash
# CPU profiles of the zloop thr sender and receiver (zloop->zloop, 64 B x 2,000,000 over tcp by
# default) and the top functions of each. Profiles go to bin/profile/, the tops to
# results/<date>-profile.txt. Run from bench/ after `make zloop`. Environment: SIZE, COUNT, TOP.
set -u
cd "$(dirname "$0")/.."
PAIR_TIMEOUT=${PAIR_TIMEOUT:-150}
. scripts/lib.sh
SIZE=${SIZE:-64} COUNT=${COUNT:-2000000} TOP=${TOP:-15}
dir=bin/profile
mkdir -p "$dir" results
ep=$(endpoint tcp)
timeout -k 2 $((PAIR_TIMEOUT + 5)) "$BIN"/zloop/thr recv bind "$ep" "$SIZE" "$COUNT" --timeout "$PAIR_TIMEOUT" \
	--cpuprofile "$dir/recv.pprof" >"$dir/recv.out" &
rpid=$!
wait_listening "$ep" "$rpid"
timeout -k 2 $((PAIR_TIMEOUT + 5)) "$BIN"/zloop/thr send connect "$ep" "$SIZE" "$COUNT" --timeout "$PAIR_TIMEOUT" \
	--cpuprofile "$dir/send.pprof" >"$dir/send.out"
src=$?
wait "$rpid"
rrc=$?
out=results/$(date +%Y-%m-%d)-profile.txt
{
	echo "# zloop->zloop thr $SIZE B x $COUNT over tcp, $(date -u +%Y-%m-%dT%H:%M:%SZ), rc=$src/$rrc"
	cat "$dir/recv.out" "$dir/send.out"
	for role in recv send; do
		echo "## $role: top $TOP by flat CPU"
		go tool pprof -top -nodecount="$TOP" "$BIN/zloop/thr" "$dir/$role.pprof" 2>/dev/null
		echo "## $role: top $TOP by cumulative CPU"
		go tool pprof -top -cum -nodecount="$TOP" "$BIN/zloop/thr" "$dir/$role.pprof" 2>/dev/null
	done
} | tee "$out"
[ "$src" = 0 ] && [ "$rrc" = 0 ]
