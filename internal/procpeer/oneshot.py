# oneshot.py: one libzmq socket that does one job and exits at once (see package procpeer).
#
# usage: python3 -c "$(cat oneshot.py)" SPEC_JSON
# The spec says the socket type, the endpoint to bind or connect, the role and the message
# plan. The peer reports on stdout, one JSON object a line, flushed at once (so what it said
# survives a kill): {"bound": ep}, {"synced": true}, {"msg": [frame summaries]} per message
# received, {"closing": true} before close/term, {"done": true} after them, or {"error": ...}.
# Then it closes the socket with the default linger (infinite) and terminates the context,
# the way a command-line tool or batch job ends, and exits. gopeer.go is the same contract
# in Go; plan.go documents the plan and the summaries.
import hashlib
import json
import select
import sys
import time

try:
    import zmq
except Exception as e:
    sys.stdout.write(json.dumps({"error": "import zmq: %s" % e}) + "\n")
    sys.stdout.flush()
    sys.exit(3)

PROBE = b"PROBE"
MULTI_SIZES = [0, 1, 255, 256, 4096, 65536, 70000]


def report(**kw):
    sys.stdout.write(json.dumps(kw, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def summary(f):
    if len(f) <= 40:
        if all(0x20 <= c <= 0x7E for c in f):
            return "=" + f.decode("ascii")
        return "0x" + f.hex()
    return "#%d:%s" % (len(f), hashlib.sha256(f).hexdigest()[:16])


def body(j, n):
    period = bytes(((k * 31 + j * 7 + 7) % 251) for k in range(251))
    return (period * (n // 251 + 1))[:n]


def plan(count, multi):
    msgs = [[b"s%d" % i] for i in range(count)]
    for j in range(multi):
        msgs.append([b"m%d" % j, b"", body(j, MULTI_SIZES[j % len(MULTI_SIZES)]), b"t%d" % j])
    return msgs


class Failed(Exception):
    pass


class Peer:
    def __init__(self, spec):
        self.spec = spec
        self.type = spec["type"]
        self.deadline = time.monotonic() + spec["timeout_ms"] / 1000.0
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SocketType[self.type])

    def remaining_ms(self):
        return max(0, int((self.deadline - time.monotonic()) * 1000))

    def send(self, frames, unroutable_ok=False):
        while True:
            try:
                self.sock.send_multipart(frames, flags=zmq.NOBLOCK)
                return
            except zmq.Again:
                ms = self.remaining_ms()
                if ms == 0:
                    raise Failed("send timed out")
                self.sock.poll(ms, zmq.POLLOUT)
            except zmq.ZMQError as e:
                if not (unroutable_ok and e.errno == zmq.EHOSTUNREACH):
                    raise
                # A mandatory ROUTER does not know its peer until the handshake is done.
                if self.remaining_ms() == 0:
                    raise Failed("the peer never became routable")
                time.sleep(0.002)

    def recv(self, what):
        while True:
            try:
                return self.sock.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                ms = self.remaining_ms()
                if ms == 0:
                    raise Failed("timed out waiting for %s" % what)
                self.sock.poll(ms, zmq.POLLIN)

    def run(self):
        spec, s = self.spec, self.sock
        if spec.get("routing_id"):
            s.setsockopt(zmq.ROUTING_ID, spec["routing_id"].encode())
        if spec.get("to"):
            s.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if spec.get("unlimited_hwm"):
            s.setsockopt(zmq.SNDHWM, 0)
            s.setsockopt(zmq.RCVHWM, 0)
        if self.type == "SUB":
            s.setsockopt(zmq.SUBSCRIBE, b"")
        if spec.get("bind"):
            s.bind(spec["bind"])
            ep = s.getsockopt(zmq.LAST_ENDPOINT)
            report(bound=ep.decode() if isinstance(ep, bytes) else ep)
        else:
            s.connect(spec["connect"])
        if self.type == "XSUB":
            self.send([b"\x01"])
        msgs = plan(spec["count"], spec["multi"])
        role = spec["role"]
        if role == "send":
            to = spec.get("to")
            for i, m in enumerate(msgs):
                if to:
                    self.send([to.encode()] + m, unroutable_ok=(i == 0))
                else:
                    self.send(m)
        elif role == "recv":
            for i in range(len(msgs)):
                report(msg=[summary(f) for f in self.recv("message %d" % i)])
        elif role == "request":
            envelope = [b""] if self.type == "DEALER" else []
            for i, m in enumerate(msgs):
                self.send(envelope + m)
                rep = self.recv("reply %d" % i)
                if rep[: len(envelope)] != envelope:
                    raise Failed("reply %d has no empty delimiter" % i)
                report(msg=[summary(f) for f in rep[len(envelope):]])
        elif role == "reply":
            for i in range(len(msgs)):
                req = self.recv("request %d" % i)
                envelope = []
                if self.type == "ROUTER":
                    if len(req) < 2 or req[1] != b"":
                        raise Failed("request %d has no routing id and delimiter" % i)
                    envelope, req = req[:2], req[2:]
                report(msg=[summary(f) for f in req])
                self.send(envelope + [b"re"] + req)
        elif role == "pub":
            # Probes until the test says the subscriber got one: then the subscription is in
            # place and every counted message must arrive.
            while True:
                self.send([PROBE])
                ready, _, _ = select.select([sys.stdin], [], [], 0.01)
                if ready:
                    sys.stdin.readline()
                    break
                if self.remaining_ms() == 0:
                    raise Failed("the test never said the subscriber is in place")
            for m in msgs:
                self.send(m)
        elif role == "xpub":
            sub = self.recv("the subscription")
            if sub != [b"\x01"]:
                raise Failed("expected the subscription to everything, got %r" % sub)
            report(synced=True)
            for m in msgs:
                self.send(m)
        elif role == "sub":
            i, synced = 0, False
            while i < len(msgs):
                m = self.recv("message %d" % i)
                if i == 0 and m == [PROBE]:  # only before the counted messages
                    if not synced:
                        report(synced=True)
                        synced = True
                    continue
                report(msg=[summary(f) for f in m])
                i += 1
        else:
            raise Failed("unknown role %r" % role)
        report(closing=True)
        s.close()  # the default linger: what is queued still goes
        self.ctx.term()
        report(done=True)


def main():
    try:
        peer = Peer(json.loads(sys.argv[1]))
    except Exception as e:
        report(error="%s: %s" % (type(e).__name__, e))
        return 2
    try:
        peer.run()
        return 0
    except Exception as e:
        report(error="%s: %s" % (type(e).__name__, e))
        peer.sock.close(linger=0)
        peer.ctx.term()
        return 1


if __name__ == "__main__":
    sys.exit(main())
