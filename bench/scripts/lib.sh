# Shared by smoke.sh, run.sh and profile.sh: run one sender/receiver pair of the bench tools.
# Source it from bench/ with BIN set (default bin).
BIN=${BIN:-bin}
PAIR_TIMEOUT=${PAIR_TIMEOUT:-20}   # --timeout given to each tool, seconds
LAST_LINES=""                      # the RESULT lines of the last pair, receiver (or req) first
PAIR_SEQ=0

# endpoint TRANSPORT: a fresh endpoint to bind; tcp asks the kernel for a free port.
endpoint() {
	PAIR_SEQ=$((PAIR_SEQ + 1))
	case $1 in
	tcp) echo "tcp://127.0.0.1:$("$BIN"/freeport)" ;;
	ws) echo "ws://127.0.0.1:$("$BIN"/freeport)/zmq" ;;
	ipc) echo "ipc:///tmp/zloop-bench-$$-$PAIR_SEQ.sock" ;;
	*) echo "unknown transport $1" >&2; return 1 ;;
	esac
}

# wait_listening ENDPOINT PID: poll (up to 5 s) until ENDPOINT accepts connections or PID exits.
wait_listening() {
	local ep=$1 pid=$2 i
	for i in $(seq 1 500); do
		case $ep in
		tcp://*) [ -n "$(ss -Hltn "sport = :${ep##*:}" 2>/dev/null)" ] && return 0 ;;
		ws://*) local hp=${ep%/zmq}; [ -n "$(ss -Hltn "sport = :${hp##*:}" 2>/dev/null)" ] && return 0 ;;
		ipc://*) [ -S "${ep#ipc://}" ] && return 0 ;;
		*) return 0 ;;
		esac
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.01
	done
}

# run_pair TOOL SENDER_IMPL RECEIVER_IMPL TRANSPORT SIZE COUNT [EXTRA FLAGS...]
# thr: RECEIVER binds and pulls, SENDER connects and pushes. lat: RECEIVER is the REP side
# (binds), SENDER the REQ side (connects). Prints a '#' header and both RESULT lines, sets
# LAST_LINES, and returns non-zero unless both tools exited 0 with status=ok.
run_pair() {
	local tool=$1 snd=$2 rcv=$3 tr=$4 size=$5 count=$6
	shift 6
	local srole=send rrole=recv
	if [ "$tool" = lat ]; then srole=req rrole=rep; fi
	local outer=$((PAIR_TIMEOUT + 5)) tmp attempt ep rpid spid rrc src
	tmp=$(mktemp -d)
	for attempt in 1 2 3; do
		ep=$(endpoint "$tr") || return 1
		timeout -k 2 "$outer" "$BIN/$rcv/$tool" "$rrole" bind "$ep" "$size" "$count" --timeout "$PAIR_TIMEOUT" "$@" \
			>"$tmp/r.out" 2>"$tmp/r.err" &
		rpid=$!
		# Start the connecting side once the bind side listens, so that its first round trip
		# (and lat's avg_oneway_us) does not include a reconnection interval.
		wait_listening "$ep" "$rpid"
		timeout -k 2 "$outer" "$BIN/$snd/$tool" "$srole" connect "$ep" "$size" "$count" --timeout "$PAIR_TIMEOUT" "$@" \
			>"$tmp/s.out" 2>"$tmp/s.err" &
		spid=$!
		wait "$rpid"; rrc=$?
		if [ "$rrc" = 1 ] && grep -qi "address already in use" "$tmp/r.err"; then
			kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
			continue # someone took the port between freeport and bind: try another
		fi
		wait "$spid"; src=$?
		break
	done
	case $ep in ipc://*) rm -f "${ep#ipc://}" ;; esac
	echo "# tool=$tool pair=$snd->$rcv transport=$tr size=$size count=$count flags=$* rc=$src/$rrc"
	LAST_LINES=$(grep -h '^RESULT ' "$tmp/r.out" "$tmp/s.out")
	[ -n "$LAST_LINES" ] && echo "$LAST_LINES"
	local ok=0
	if [ "$rrc" != 0 ] || [ "$src" != 0 ] || [ "$(grep -c '^RESULT .*status=ok ' "$tmp/r.out" "$tmp/s.out" | awk -F: '{s+=$2} END {print s}')" != 2 ]; then
		ok=1
		echo "## FAILED: receiver stderr:" >&2; sed 's/^/##   /' "$tmp/r.err" >&2
		echo "## sender stderr:" >&2; sed 's/^/##   /' "$tmp/s.err" >&2
	fi
	rm -rf "$tmp"
	return $ok
}
