package reactor

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zloop/zloop/pool"
)

// tls:// (ZMTP 3.1 over TLS) and wss:// (ZWS 2.0 over TLS) are byte streams under the existing
// framers (zmtpFramer, wsConn): the framers see plaintext, and the TLS record layer sits between
// them and gnet.
//
// The handshake runs on a goroutine, over the blocking net.Conn, before the connection is handed
// to a loop: crypto/tls cannot resume a handshake after an error of its conn (it keeps the first
// one), so a handshake cannot be driven by the loop's non-blocking reads without a goroutine
// anyway, and doing it before enrolment keeps the loop out of it entirely. A dialer does it on its
// own goroutine (it already dials and upgrades ws:// there); a listener starts one goroutine per
// accepted connection, at most maxTLSHandshakes at a time per reactor (more are refused and
// closed), each ended by HANDSHAKE_IVL (or tlsHandshakeDefault without one) through the socket's
// deadline: a client that stops mid-handshake costs one goroutine for that long, no more.
//
// Once handshaken, the tls.Conn is driven by the loop only: its conn (tlsWire) switches from the
// socket to memory. Reads: the loop offers what gnet read (ciphertext) and calls tls.Conn.Read until
// the wire says it has nothing more (errTLSWouldBlock, a temporary net.Error, which crypto/tls
// passes up without making it sticky: conn.go readRecordOrCCS), so the plaintext lands in the
// connection's carry and the framer parses it from there; a partial record stays in crypto/tls's
// own buffer (one record at most). Writes: tls.Conn.Write encrypts what the loop's batch holds and
// the wire appends the records to a buffer that goes to gnet's Write (inline when the kernel takes
// it, queued otherwise) every tlsFlush bytes and at the end of each write.
//
// Senders' direct writes are off for these connections: a record's sequence number is fixed when
// it is encrypted, so encryption and the write to the socket would have to be one step under the
// write lock for every writer, and crypto/tls would then run on senders' goroutines beside the
// loop's reads (alerts, key updates). Routing everything through the loop's batch keeps the
// tls.Conn on one goroutine and coalesces small messages into full records. Large bodies are not
// written by reference either (writeLarge, the output watcher): they are encrypted into records like
// the rest, and readBody's direct reads are off (the socket's bytes are not the body's): tlsBody
// decrypts the rest of a large body straight into its message instead. On the way out a large body
// is encrypted tlsChunk at a time, and once gnet holds tlsHold bytes the rest waits, unencrypted,
// in the message the connection keeps (conn.part, as a plain connection's held body), encrypted as
// the socket drains (tlsContinue): a connection's output costs about tlsHold whatever the
// message's size.

// maxTLSHandshakes bounds the handshakes in progress on a reactor's listeners (a variable for the
// test that fills it).
var maxTLSHandshakes = 256

const (
	// tlsHandshakeDefault bounds a TLS handshake when HANDSHAKE_IVL is 0 (no limit for ZMTP):
	// a goroutine must not be held forever by a silent peer.
	tlsHandshakeDefault = 30 * time.Second
	// tlsFlush: encrypted records are handed to gnet in chunks of about this size.
	tlsFlush = 64 << 10
	// tlsRead is the room the carry gets for each tls.Conn.Read: one record's plaintext.
	tlsRead = 16 << 10
	// tlsChunk is how much of a large body is encrypted at a time, and tlsHold how much ciphertext
	// gnet may hold before the rest of the body waits for the socket to drain.
	tlsChunk = 128 << 10
	tlsHold  = 512 << 10
)

var (
	// ErrTLSConfig: a tls:// or wss:// endpoint on a socket without a TLS configuration (or a
	// server's without a certificate).
	ErrTLSConfig = errors.New("zmq: tls:// and wss:// need a TLS configuration (Options.TLS)")
	// ErrTLSBusy: an accepted connection was refused because maxTLSHandshakes handshakes are in
	// progress.
	ErrTLSBusy = errors.New("zmq: too many TLS handshakes in progress")
	// errTLSWouldBlock is the in-memory wire's "nothing more now": temporary, so crypto/tls keeps
	// the connection usable.
	errTLSWouldBlock net.Error = wouldBlockError{}
)

type wouldBlockError struct{}

func (wouldBlockError) Error() string   { return "zmq: tls: no more input yet" }
func (wouldBlockError) Timeout() bool   { return true }
func (wouldBlockError) Temporary() bool { return true }

// TLSError is a TLS failure of a connection: its handshake (certificate refused, no common
// version, not TLS at all, timeout) or its record layer afterwards (bad record, renegotiation
// attempt, alert from the peer). The monitor reports a handshake's as EventHandshakeFailedProtocol
// (libzmq has no TLS event of its own) with this as Err.
type TLSError struct {
	Handshake bool  // during the handshake
	Err       error // crypto/tls's error, or the socket's
}

func (e *TLSError) Error() string {
	if e.Handshake {
		return "zmq: tls handshake: " + e.Err.Error()
	}
	return "zmq: tls: " + e.Err.Error()
}

// Unwrap returns crypto/tls's error.
func (e *TLSError) Unwrap() error { return e.Err }

// TLSPeer is what a tls:// or wss:// connection's handshake established about the peer: the one
// place its certificate is seen. It is the seam for message metadata and ZAP: Metadata gives the
// properties a message from this peer carries, and a ZAP request can take Subject and
// Fingerprint from it. Immutable once made; any goroutine may read it.
type TLSPeer struct {
	Version     uint16 // tls.VersionTLS12 or tls.VersionTLS13
	CipherSuite uint16
	ServerName  string // the SNI the client sent (server side) or asked for (client side)
	// Subject is the verified leaf certificate's subject in RFC 2253 form, "" when the peer sent
	// none (a client without mutual TLS).
	Subject string
	// Fingerprint is the SHA-256 of the leaf certificate's DER bytes; zero when there is none.
	Fingerprint [32]byte
	// Chains are the verified chains (crypto/tls's VerifiedChains), leaf first.
	Chains int
	// Certificate is the peer's leaf certificate (nil without one). Read-only.
	Certificate *x509.Certificate
}

// HasCertificate reports whether the peer presented a certificate. Any goroutine: a TLSPeer
// never changes.
func (p *TLSPeer) HasCertificate() bool { return p != nil && p.Fingerprint != [32]byte{} }

// FingerprintHex is the fingerprint in lower-case hex, "" without a certificate. Any goroutine.
func (p *TLSPeer) FingerprintHex() string {
	if !p.HasCertificate() {
		return ""
	}
	return hex.EncodeToString(p.Fingerprint[:])
}

// Metadata names the peer's TLS facts as message metadata properties, for zmq_msg_gets: libzmq has
// none for TLS, so the names are zloop's own ("TLS-Subject", "TLS-Fingerprint" as
// "sha256:<hex>", "TLS-Version"). A peer without a certificate has only the version.
func (p *TLSPeer) Metadata() map[string]string {
	if p == nil {
		return nil
	}
	m := map[string]string{pool.PropTLSVersion: tls.VersionName(p.Version)}
	if p.HasCertificate() {
		m[pool.PropTLSSubject] = p.Subject
		m[pool.PropTLSFingerprint] = "sha256:" + p.FingerprintHex()
	}
	return m
}

// tlsPeer is the seam for ZAP: the TLS peer of c while its ZMTP handshake runs (a ZAP request is
// made before the pipe exists; Pipe.TLS serves afterwards), nil without TLS. On the loop.
func (c *conn) tlsPeer() *TLSPeer {
	if c.tls == nil {
		return nil
	}
	return c.tls.peer
}

// newTLSPeer extracts the peer's facts from a completed handshake.
func newTLSPeer(cs tls.ConnectionState) *TLSPeer {
	p := &TLSPeer{Version: cs.Version, CipherSuite: cs.CipherSuite, ServerName: cs.ServerName, Chains: len(cs.VerifiedChains)}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		p.Subject = leaf.Subject.String()
		p.Fingerprint = sha256.Sum256(leaf.Raw)
		p.Certificate = leaf
	}
	return p
}

// tlsWire is the tls.Conn's conn: the socket during the handshake (on the handshaking goroutine),
// memory fed by the loop afterwards (loop-owned). The switch happens before the connection is
// enrolled, so no two goroutines ever use it at once.
type tlsWire struct {
	nc     net.Conn
	c      *conn
	onLoop bool
	in     []byte // ciphertext offered by the loop for one read; a view of gnet's buffer
	out    []byte // records encrypted and not yet handed to gnet
	drop   bool   // the connection is going away: encrypted output is discarded
}

func (w *tlsWire) Read(p []byte) (int, error) {
	if !w.onLoop {
		return w.nc.Read(p)
	}
	if len(w.in) == 0 {
		return 0, errTLSWouldBlock
	}
	n := copy(p, w.in)
	w.in = w.in[n:]
	return n, nil
}

func (w *tlsWire) Write(p []byte) (int, error) {
	if !w.onLoop {
		return w.nc.Write(p)
	}
	if w.drop {
		return len(p), nil
	}
	w.out = append(w.out, p...)
	if len(w.out) >= tlsFlush {
		w.c.tlsFlush()
	}
	return len(p), nil
}

// Close: crypto/tls closes its conn when a handshake's context ends; the socket belongs to gnet
// afterwards.
func (w *tlsWire) Close() error {
	if !w.onLoop {
		return w.nc.Close()
	}
	return nil
}

func (w *tlsWire) LocalAddr() net.Addr  { return w.nc.LocalAddr() }
func (w *tlsWire) RemoteAddr() net.Addr { return w.nc.RemoteAddr() }

func (w *tlsWire) SetDeadline(t time.Time) error {
	if w.onLoop {
		return nil
	}
	return w.nc.SetDeadline(t)
}

func (w *tlsWire) SetReadDeadline(t time.Time) error {
	if w.onLoop {
		return nil
	}
	return w.nc.SetReadDeadline(t)
}

func (w *tlsWire) SetWriteDeadline(t time.Time) error {
	if w.onLoop {
		return nil
	}
	return w.nc.SetWriteDeadline(t)
}

// tlsStream is a connection's TLS state after the handshake (loop-owned).
type tlsStream struct {
	tc   *tls.Conn
	w    *tlsWire
	peer *TLSPeer
	// start is when the TLS handshake began: the ZMTP handshake's HANDSHAKE_IVL counts from it.
	start time.Time
	// eof: the peer sent close_notify; crypto/tls reads nothing after it.
	eof bool
	// dup is a duplicate of the socket while the ZMTP handshake runs (-1 otherwise): with TLS 1.3
	// a server refuses a client's certificate after the client's handshake is over, and its alert
	// may wait in the kernel when our first write meets the reset that follows it. gnet closes the
	// socket before OnClose; the duplicate lets onClose read the alert and say why (tlsWhy).
	dup int
}

// tlsHandshake runs the TLS handshake of nc within limit (0: tlsHandshakeDefault) and returns the
// stream, ready to be switched to the loop (onLoop), and the tls.Conn for a ws upgrade over it.
// ctx ends it early (a dialer's Close). Blocking: dialer and handshake goroutines only.
func tlsHandshake(ctx context.Context, nc net.Conn, cfg *tls.Config, server bool, limit time.Duration) (*tlsStream, error) {
	if limit <= 0 {
		limit = tlsHandshakeDefault
	}
	start := time.Now()
	w := &tlsWire{nc: nc}
	var tc *tls.Conn
	if server {
		tc = tls.Server(w, cfg)
	} else {
		tc = tls.Client(w, cfg)
	}
	_ = nc.SetDeadline(start.Add(limit))
	hctx, cancel := context.WithDeadline(ctx, start.Add(limit))
	err := tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return nil, &TLSError{Handshake: true, Err: err}
	}
	_ = nc.SetDeadline(time.Time{})
	return &tlsStream{tc: tc, w: w, peer: newTLSPeer(tc.ConnectionState()), start: start, dup: -1}, nil
}

// clientTLS is a dialer's configuration for endpoint host: the socket's, with ServerName (SNI and
// the name verified) defaulting to the endpoint's host. Renegotiation stays refused (Go's default).
func clientTLS(cfg *tls.Config, host string) *tls.Config {
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName = host
	}
	c.Renegotiation = tls.RenegotiateNever
	return c
}

// checkTLS tells a tls:// or wss:// endpoint without what it needs.
func checkTLS(o *Options, server bool, endpoint string) error {
	if o.TLS == nil {
		return fmt.Errorf("%w: %s", ErrTLSConfig, endpoint)
	}
	if server && len(o.TLS.Certificates) == 0 && o.TLS.GetCertificate == nil && o.TLS.GetConfigForClient == nil {
		return fmt.Errorf("%w: %s: the server has no certificate", ErrTLSConfig, endpoint)
	}
	return nil
}

// handshakeSlots bounds the listeners' handshake goroutines of one reactor.
type handshakeSlots struct {
	mu sync.Mutex
	n  int
}

func (s *handshakeSlots) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= maxTLSHandshakes {
		return false
	}
	s.n++
	return true
}

func (s *handshakeSlots) give() {
	s.mu.Lock()
	s.n--
	s.mu.Unlock()
}

// useTLS switches c to t after its handshake, before c is enrolled.
func (c *conn) useTLS(t *tlsStream) {
	t.w.c = c
	t.w.onLoop = true
	c.tls = t
}

// tlsOpen decrypts in (ciphertext) into the carry, where the framer parses it; what crypto/tls
// writes meanwhile (an alert, a key update's answer) goes out after. An error of the record layer
// is the connection's end (crypto/tls has answered it with an alert). On the loop.
func (c *conn) tlsOpen(in []byte) error {
	t := c.tls
	t.w.in = in
	defer func() { t.w.in = nil }()
	for {
		if cap(c.carry.b)-len(c.carry.b) < tlsRead {
			c.carry.grow(c.loop, tlsRead)
		}
		k := &c.carry
		n, err := t.tc.Read(k.b[len(k.b):cap(k.b)])
		k.b = k.b[:len(k.b)+n]
		if err != nil {
			if errors.Is(err, errTLSWouldBlock) {
				break
			}
			if errors.Is(err, io.EOF) {
				// close_notify: nothing more comes over TLS, but what came before it is still
				// to be parsed and delivered (stunnel sends it the moment its side closes);
				// then the connection closes as at the peer's FIN (traffic).
				t.eof = true
				break
			}
			c.tlsFlush()
			return tlsReadError(err)
		}
	}
	if k := &c.carry; k.len() == 0 {
		k.reset(c.loop)
	}
	c.tlsFlush()
	return nil
}

var errRenegotiation = errors.New("renegotiation refused")

// tlsDecrypt moves what gnet read for c through crypto/tls into the carry. On the loop.
func (c *conn) tlsDecrypt() error {
	if c.gc == nil {
		return nil
	}
	in, _ := c.gc.Peek(-1)
	err := c.tlsOpen(in)
	if len(in) > 0 && c.gc != nil {
		_, _ = c.gc.Discard(len(in)) // crypto/tls took it all: a partial record stays in its buffer
	}
	return err
}

// tlsRaw takes ciphertext that no longer comes through gnet (a paused connection's end, a
// detach): decrypted into the carry like the rest, its output dropped (the socket is going).
func (c *conn) tlsRaw(in []byte) {
	c.tls.w.drop = true
	if err := c.tlsOpen(in); err != nil && c.failErr == nil {
		c.failErr = err
	}
	c.tls.w.drop = false
}

// tlsSeal encrypts hdr and body (nil: none) and writes the records. The write lock is held.
func (c *conn) tlsSeal(hdr, body []byte) {
	t := c.tls
	if _, err := t.tc.Write(hdr); err == nil && len(body) > 0 {
		_, _ = t.tc.Write(body)
	}
	c.tlsFlush()
}

// tlsFlush hands the encrypted records to gnet: written at once when the kernel takes them.
func (c *conn) tlsFlush() {
	t := c.tls
	if t == nil || len(t.w.out) == 0 {
		return
	}
	out := t.w.out
	t.w.out = t.w.out[:0]
	if t.w.drop || c.closed() || c.gc == nil {
		return
	}
	locked := c.lockWrites() // held already when a write of the loop's encrypts
	before := c.gc.OutboundBuffered()
	_, _ = c.gc.Write(out)
	c.account(len(out), before)
	if locked {
		c.unlockWrites()
	}
	if cap(t.w.out) > 2*tlsFlush {
		t.w.out = nil // a burst's buffer is not kept
	}
}

// carryRaw keeps bytes gnet read for c when they leave gnet: as they are, or for tls:// and
// wss:// decrypted (the carry holds what the framer parses).
func (c *conn) carryRaw(in []byte) {
	if c.tls != nil {
		c.tlsRaw(in)
		return
	}
	c.carry.add(c.loop, in)
}

// tlsReadAll is carry.readAll for a TLS connection: the kernel's last bytes, decrypted.
func (c *conn) tlsReadAll(fd int) {
	buf := make([]byte, 64<<10)
	for read := 0; read < maxDrain; {
		n, err := readFD(fd, buf)
		if n <= 0 || err != nil {
			return
		}
		c.tlsRaw(buf[:n])
		read += n
	}
}

// tlsHold keeps a duplicate of c's socket for tlsWhy while the ZMTP handshake runs (OnOpen).
func (c *conn) tlsHold() {
	c.tls.dup = -1
	if fd, err := c.gc.Dup(); err == nil {
		c.tls.dup = fd
	}
}

// tlsRelease closes the duplicate (at Ready, and at the end).
func (c *conn) tlsRelease() {
	if c.tls != nil && c.tls.dup >= 0 {
		_ = closeFD(c.tls.dup)
		c.tls.dup = -1
	}
}

// tlsWhy runs in onClose of a connection that failed in its ZMTP handshake: when what the peer
// sent last (gnet's rest and the kernel's) holds a TLS alert, that is the reason, rather than the
// reset our write met after it.
func (c *conn) tlsWhy(err error) error {
	t := c.tls
	if t == nil || t.dup < 0 || c.ready() || c.failErr != nil {
		return err
	}
	t.w.drop = true
	defer func() { t.w.drop = false }()
	var cause error
	if c.gc != nil {
		if in, _ := c.gc.Peek(-1); len(in) > 0 {
			cause = c.tlsOpen(in)
		}
	}
	buf := c.loop.scratch[:cap(c.loop.scratch)]
	for read := 0; cause == nil && read < 1<<20; {
		n, rerr := readFD(t.dup, buf)
		if n <= 0 || rerr != nil {
			break
		}
		read += n
		cause = c.tlsOpen(buf[:n])
	}
	var te *TLSError
	if errors.As(cause, &te) {
		return cause
	}
	return err
}

// tlsBody decrypts the rest of a large frame's body straight into the message, as readBody reads
// it from a plain socket: crypto/tls writes the plaintext into the message's spare room and the
// framer takes it in place, so the body is copied once (by the decryption) instead of twice. It
// reads no further than the frame's end, so what follows goes through the carry as usual. On the
// loop; the carry is empty.
func (c *conn) tlsBody() error {
	t := c.tls
	var in []byte
	if c.gc != nil {
		in, _ = c.gc.Peek(-1)
	}
	t.w.in = in
	var err error
	for c.cur != nil && c.curLeft >= directMin && c.carry.len() == 0 && !c.closed() {
		sp := c.cur.Spare()
		if len(sp) == 0 {
			break // a frame not reserved whole grows as bytes arrive: through the carry
		}
		n, rerr := t.tc.Read(sp[:min(len(sp), c.curLeft)])
		if n > 0 {
			c.loop.directReads.Add(1)
			c.sc.directReads.Add(1)
			k, perr := c.framer.parse(sp[:n])
			if perr != nil {
				err = perr
				break
			}
			if k < n && !c.closed() {
				c.carry.add(c.loop, sp[k:n]) // never so (a body's bytes are taken whole), but kept in order
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				t.eof = true
			} else if !errors.Is(rerr, errTLSWouldBlock) {
				err = tlsReadError(rerr)
			}
			break
		}
	}
	used := len(in) - len(t.w.in)
	t.w.in = nil
	if used > 0 && c.gc != nil {
		_, _ = c.gc.Discard(used)
	}
	c.tlsFlush()
	return err
}

// tlsReadError is the connection's error for crypto/tls's read error err.
func tlsReadError(err error) error {
	if strings.Contains(err.Error(), "clientHelloMsg") {
		// A TLS 1.2 client's renegotiation: crypto/tls refuses it (with an unexpected_message
		// alert) but says so only in terms of its message types.
		err = fmt.Errorf("%w: %w", errRenegotiation, err)
	}
	return &TLSError{Err: err}
}

// tlsLarge writes hdr (the batch and a frame's header) and then body, frame j of m, encrypted
// tlsChunk at a time, and reports held when gnet came to hold tlsHold bytes first: then c.part
// keeps m (and masked, a CURVE frame's copy) with the rest of the body (a wss client's in dw.mask,
// masked a chunk at a time), which
// tlsContinue encrypts as the socket drains. On the loop.
func (c *conn) tlsLarge(m *pool.Msg, j int, hdr, body []byte, masked *pool.Buffer) (held bool) {
	c.writev(hdr, nil)
	for (len(body) > 0 || c.maskLeft() > 0) && !c.closed() && c.gc != nil {
		if c.gc.OutboundBuffered() >= tlsHold {
			c.part = partial{m: m, frame: j, body: body, copy: masked}
			c.loop.heldBodies.Add(1)
			c.sc.heldBodies.Add(1)
			return true
		}
		if len(body) == 0 {
			c.writev(c.maskedChunk(), nil) // a wss client's body, masked a chunk at a time
			continue
		}
		n := min(len(body), tlsChunk)
		c.writev(body[:n], nil)
		body = body[n:]
	}
	if masked != nil {
		masked.Release()
	}
	locked := c.lockWrites()
	c.dw.endMask()
	if locked {
		c.unlockWrites()
	}
	return false
}

// maskLeft is what a wss client's body being written has left to mask (on the loop).
func (c *conn) maskLeft() int {
	locked := c.lockWrites()
	n := c.dw.maskLeft()
	if locked {
		c.unlockWrites()
	}
	return n
}

// maskedChunk masks the next chunk of a wss client's body (on the loop). The chunk is sealed before
// the next one is masked: only the loop writes a TLS connection's body.
func (c *conn) maskedChunk() []byte {
	locked := c.lockWrites()
	b := c.dw.nextMasked()
	if locked {
		c.unlockWrites()
	}
	return b
}

// tlsContinue encrypts the held body's next chunks while gnet holds less than tlsHold, and returns
// what is left of it. The write lock is held.
func (c *conn) tlsContinue() int {
	for (len(c.part.body) > 0 || c.dw.maskLeft() > 0) && !c.closed() && c.gc != nil && c.gc.OutboundBuffered() < tlsHold {
		if len(c.part.body) == 0 {
			b := c.dw.nextMasked() // a wss client's body, masked a chunk at a time
			c.tlsSeal(b, nil)
			c.partWritten.Add(uint64(len(b)))
			continue
		}
		n := min(len(c.part.body), tlsChunk)
		c.tlsSeal(c.part.body[:n], nil)
		c.part.body = c.part.body[n:]
		c.partWritten.Add(uint64(n))
	}
	return len(c.part.body) + c.dw.maskLeft()
}
