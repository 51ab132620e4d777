# peer.py: one libzmq socket driven by JSON-line commands (see package testpeer).
#
# usage: python3 peer.py SOCKET_TYPE
# It answers a hello line first, then exactly one JSON line per command line read from
# stdin. Errors are answered, never raised: a broken peer must fail the Go test that
# drives it, not vanish. End of stdin (the test process went away) closes and exits.
import base64
import json
import struct
import sys
import time

try:
    import zmq
except Exception as e:  # reported by the hello line, so Go can skip or fail
    sys.stdout.write(json.dumps({"ok": False, "error": "import zmq: %s" % e}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

out = sys.stdout


def answer(obj):
    out.write(json.dumps(obj, separators=(",", ":")) + "\n")
    out.flush()


def b64(b):
    return base64.b64encode(b).decode("ascii")


def unb64(s):
    return base64.b64decode(s, validate=True)


def option(name):
    v = getattr(zmq, str(name), None)
    if not isinstance(v, int):
        raise ValueError("unknown socket option %r" % name)
    return v


def deadline_of(cmd, default_ms):
    ms = cmd.get("timeout_ms", default_ms)
    if ms is None or ms < 0:
        ms = 0
    return time.monotonic() + ms / 1000.0


def remaining_ms(deadline):
    return max(0, int((deadline - time.monotonic()) * 1000))


def seq_filler(size):
    # Bytes 8.. of a sequence message: a fixed pattern with a prime period, so that a
    # shifted, duplicated or dropped chunk of a large body does not line up by accident.
    return bytes(((j * 31 + 7) % 251) for j in range(8, size))


def seq_head(i, size):
    return struct.pack("<Q", i)[: min(size, 8)]


class Timeout(Exception):
    pass


class Peer:
    def __init__(self, sock_type):
        try:
            t = zmq.SocketType[sock_type]
        except KeyError:
            raise ValueError("unknown socket type %r" % sock_type) from None
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(t)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.mon = None

    def start_zap(self, user, password):
        import threading

        zap = self.ctx.socket(zmq.REP)
        zap.setsockopt(zmq.LINGER, 0)
        zap.bind("inproc://zeromq.zap.01")

        def serve():
            while True:
                try:
                    req = zap.recv_multipart()
                except zmq.ZMQError:
                    zap.close()  # the context is terminating: it waits for this socket
                    return
                version, rid, mech, creds = req[0], req[1], req[5], req[6:]
                ok = mech == b"PLAIN" and creds == [user, password]
                zap.send_multipart([version, rid, b"200" if ok else b"400", b"OK" if ok else b"refused",
                                    user if ok else b"", b""])

        threading.Thread(target=serve, daemon=True).start()
        self.zap = zap

    def serve_zap(self, rules, default):
        # A ZAP handler (rfc 27) as zmq.auth runs one: a REP at inproc://zeromq.zap.01 on the
        # peer's context. The first rule whose mechanism, credentials and domain match answers
        # (status, user id, metadata); no match answers default. Requests are kept for zapseen.
        import threading

        zap = self.ctx.socket(zmq.REP)
        zap.setsockopt(zmq.LINGER, 0)
        zap.bind("inproc://zeromq.zap.01")
        seen = self.zap_seen = []
        lock = self.zap_lock = threading.Lock()

        def meta(d):
            out = b""
            for k in sorted(d):
                v = d[k].encode()
                out += bytes([len(k)]) + k.encode() + struct.pack(">I", len(v)) + v
            return out

        def serve():
            while True:
                try:
                    req = zap.recv_multipart()
                except zmq.ZMQError:
                    zap.close()
                    return
                with lock:
                    seen.append([b64(f) for f in req])
                version, rid, domain, mech, creds = req[0], req[1], req[2], req[5], req[6:]
                reply = [version, rid, default.encode(), b"no rule", b"", b""]
                for r in rules:
                    if r.get("mechanism", "").encode() != mech:
                        continue
                    if "credentials" in r and [unb64(c) for c in r["credentials"]] != creds:
                        continue
                    if "domain" in r and r["domain"].encode() != domain:
                        continue
                    reply = [version, rid, r["status"].encode(), b"rule", r.get("user_id", "").encode(),
                             meta(r.get("metadata", {}))]
                    break
                zap.send_multipart(reply)

        threading.Thread(target=serve, daemon=True).start()
        self.zap = zap

    def close_monitor(self):
        # ctx.term waits for every socket: the monitor's too.
        mon = getattr(self, "mon", None)
        if mon is not None:
            self.mon = None
            try:
                self.sock.disable_monitor()
            except zmq.ZMQError:
                pass
            mon.close(linger=0)

    def send_one(self, frames, deadline):
        # Non-blocking first: the fast path for bulk sends; poll only when HWM says wait.
        while True:
            try:
                self.sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=True)
                return
            except zmq.Again:
                ms = remaining_ms(deadline)
                if ms == 0 or self.sock.poll(ms, zmq.POLLOUT) == 0:
                    raise Timeout()

    def recv_one(self, deadline):
        while True:
            try:
                return self.sock.recv_multipart(flags=zmq.NOBLOCK, copy=True)
            except zmq.Again:
                ms = remaining_ms(deadline)
                if ms == 0 or self.sock.poll(ms, zmq.POLLIN) == 0:
                    if time.monotonic() >= deadline:
                        raise Timeout()

    def do(self, cmd):
        op = cmd.get("op")
        s = self.sock
        if op == "bind":
            s.bind(cmd["ep"])
            ep = s.getsockopt(zmq.LAST_ENDPOINT)
            return {"ok": True, "ep": ep.decode() if isinstance(ep, bytes) else ep}
        if op == "connect":
            s.connect(cmd["ep"])
            return {"ok": True}
        if op == "unbind":
            s.unbind(cmd["ep"])
            return {"ok": True}
        if op == "disconnect":
            s.disconnect(cmd["ep"])
            return {"ok": True}
        if op == "zap":
            # A ZAP handler (rfc 27) in this process: PLAIN clients with exactly these credentials
            # pass (User-Id = the username), every other request is refused with 400. libzmq's
            # PLAIN server needs one: without it every client is turned away.
            self.start_zap(unb64(cmd["user"]), unb64(cmd["password"]))
            return {"ok": True}
        if op == "zapserve":
            self.serve_zap(cmd.get("rules", []), cmd.get("default", "400"))
            return {"ok": True}
        if op == "zapseen":
            with self.zap_lock:
                return {"ok": True, "data": list(self.zap_seen)}
        if op == "recvmeta":
            # One message and what zmq_msg_gets answers for each name (null: EINVAL).
            deadline = deadline_of(cmd, 5000)
            while True:
                try:
                    frames = s.recv_multipart(flags=zmq.NOBLOCK, copy=False)
                    break
                except zmq.Again:
                    ms = remaining_ms(deadline)
                    if ms == 0 or s.poll(ms, zmq.POLLIN) == 0:
                        if time.monotonic() >= deadline:
                            return {"ok": False, "error": "timeout"}
            props = {}
            for name in cmd.get("names", []):
                try:
                    props[name] = frames[-1].get(name)
                except zmq.ZMQError:
                    props[name] = None
            return {"ok": True, "data": {"frames": [b64(f.bytes) for f in frames], "props": props}}
        if op == "monitor":
            self.mon = s.get_monitor_socket()
            return {"ok": True}
        if op == "waitevent":
            # The next monitor event of type event (ZMQ_EVENT_* value), with its value.
            from zmq.utils.monitor import recv_monitor_message
            deadline = deadline_of(cmd, 5000)
            while True:
                ms = remaining_ms(deadline)
                if ms == 0 or self.mon.poll(ms, zmq.POLLIN) == 0:
                    return {"ok": False, "error": "timeout"}
                ev = recv_monitor_message(self.mon)
                if ev["event"] & int(cmd["event"]):
                    ep = ev.get("endpoint", b"")
                    return {"ok": True, "data": {"event": ev["event"], "value": ev["value"],
                                                 "endpoint": ep.decode() if isinstance(ep, bytes) else ep}}
        if op == "setsockopt":
            opt = option(cmd["name"])
            if "int" in cmd:
                s.setsockopt(opt, int(cmd["int"]))
            elif "bytes" in cmd:
                s.setsockopt(opt, unb64(cmd["bytes"]))
            else:
                raise ValueError("setsockopt needs int or bytes")
            return {"ok": True}
        if op == "getsockopt":
            v = s.getsockopt(option(cmd["name"]))
            if isinstance(v, bytes):
                return {"ok": True, "bytes": b64(v)}
            if isinstance(v, str):
                return {"ok": True, "bytes": b64(v.encode())}
            return {"ok": True, "int": int(v)}
        if op == "send":
            frames = [unb64(f) for f in cmd.get("frames", [])]
            if not frames:
                raise ValueError("send needs at least one frame")
            n = int(cmd.get("count", 1))
            deadline = deadline_of(cmd, 30000)
            for i in range(n):
                try:
                    self.send_one(frames, deadline)
                except Timeout:
                    return {"ok": False, "error": "timeout", "sent": i}
            return {"ok": True}
        if op == "sendseq":
            n, size = int(cmd["count"]), int(cmd["size"])
            if size < 0:
                raise ValueError("negative size")
            filler = seq_filler(size)
            deadline = deadline_of(cmd, 30000)
            for i in range(n):
                try:
                    self.send_one([seq_head(i, size) + filler], deadline)
                except Timeout:
                    return {"ok": False, "error": "timeout", "sent": i}
            return {"ok": True}
        if op == "recv":
            n = int(cmd.get("count", 1))
            deadline = deadline_of(cmd, 5000)
            msgs = []
            for _ in range(n):
                try:
                    msgs.append([b64(f) for f in self.recv_one(deadline)])
                except Timeout:
                    return {"ok": False, "error": "timeout", "msgs": msgs}
            return {"ok": True, "msgs": msgs}
        if op == "recvcheck":
            n, size = int(cmd["count"]), int(cmd["size"])
            pattern = seq_filler(size) if cmd.get("pattern") else None
            deadline = deadline_of(cmd, 5000)
            for i in range(n):
                try:
                    parts = self.recv_one(deadline)
                except Timeout:
                    return {"ok": False, "error": "timeout", "got": i,
                            "detail": "received %d of %d messages" % (i, n)}
                if len(parts) != 1:
                    return {"ok": False, "error": "message %d has %d frames, want 1" % (i, len(parts))}
                m = parts[0]
                if len(m) != size:
                    return {"ok": False, "error": "message %d is %d bytes, want %d" % (i, len(m), size)}
                if m[:8] != seq_head(i, size):
                    got = int.from_bytes(m[:8], "little")
                    return {"ok": False, "error": "message %d carries sequence %d" % (i, got)}
                if pattern is not None and m[8:] != pattern:
                    j = next(k for k in range(len(pattern)) if m[8 + k] != pattern[k])
                    return {"ok": False, "error": "message %d: body differs at byte %d" % (i, 8 + j)}
            return {"ok": True}
        if op == "waiteventnamed":
            # libzmq's monitor events, by name without EVENT_, until one named cmd["name"]
            # arrives or the deadline passes: every name seen, and whether it came.
            from zmq.utils.monitor import recv_monitor_message
            names = {getattr(zmq, k): k[len("EVENT_"):] for k in dir(zmq)
                     if k.startswith("EVENT_") and isinstance(getattr(zmq, k), int) and k not in ("EVENT_ALL", "EVENT_ALL_V1", "EVENT_ALL_V2")}
            deadline = deadline_of(cmd, 10000)
            seen = []
            while True:
                ms = remaining_ms(deadline)
                if ms == 0 or self.mon.poll(ms) == 0:
                    return {"ok": True, "events": seen, "found": False}
                e = recv_monitor_message(self.mon)
                name = names.get(int(e["event"]), str(int(e["event"])))
                seen.append(name)
                if name == cmd["name"]:
                    return {"ok": True, "events": seen, "found": True}
        if op == "close":
            self.close_monitor()
            self.sock.close(linger=int(cmd.get("linger", 1000)))
            self.ctx.term()
            return {"ok": True}
        raise ValueError("unknown op %r" % op)


def main():
    if len(sys.argv) != 2:
        answer({"ok": False, "error": "usage: peer.py SOCKET_TYPE"})
        return 2
    try:
        peer = Peer(sys.argv[1])
    except Exception as e:
        answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
        return 2
    answer({"ok": True, "zmq": zmq.zmq_version(), "pyzmq": zmq.__version__})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:  # the test process is gone: do not outlive it
            peer.close_monitor()
            peer.sock.close(linger=0)
            peer.ctx.term()
            return 0
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            if not isinstance(cmd, dict):
                raise ValueError("command is not a JSON object")
            res = peer.do(cmd)
        except Exception as e:
            res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            cmd = None
        answer(res)
        if cmd is not None and cmd.get("op") == "close" and res.get("ok"):
            return 0


if __name__ == "__main__":
    sys.exit(main())
