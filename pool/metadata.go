package pool

import "strings"

// Property names a received message answers (Msg.Metadata), spelled as libzmq's
// ZMQ_MSG_PROPERTY_* (zmq.h), plus the names the peer itself sent.
const (
	PropUserID      = "User-Id"      // who the ZAP handler (or PLAIN) said the peer is
	PropPeerAddress = "Peer-Address" // the peer's IP address (tcp, ws), as libzmq gives it
	PropSocketType  = "Socket-Type"  // the peer's socket type, from its READY
	PropRoutingID   = "Routing-Id"   // the peer's routing id, when it announced one

	// zloop's own, for tls:// and wss:// (libzmq has no TLS): the verified leaf certificate of
	// the peer, when it sent one, and the protocol version.
	PropTLSSubject     = "TLS-Subject"     // RFC 2253 form
	PropTLSFingerprint = "TLS-Fingerprint" // "sha256:" and the hex SHA-256 of the DER bytes
	PropTLSVersion     = "TLS-Version"     // "TLS 1.2", "TLS 1.3"
)

// Metadata is what zmq_msg_gets answers for the messages of one connection: the peer's
// properties, built once when the handshake completes and never changed afterwards. Every message
// received over that connection points at the same Metadata, so giving each message its
// metadata costs a pointer store, not an allocation. It is immutable and owned by the garbage
// collector: a message (or a copy of the pointer) keeps it alive however long it lives, and any
// goroutine may read it.
//
// Other per-connection facts join this struct as fields of their own, each answered by Get under
// its property name (a TLS peer certificate, for instance, as libzmq has none to copy).
type Metadata struct {
	props []property // in the order given to NewMetadata; one per name, regardless of case
}

type property struct{ name, value string }

// NewMetadata builds a connection's metadata from name/value pairs (name, value, name, value,
// ...); a trailing name without value is ignored. When a name appears twice (compared regardless of
// case, as rfc 37 compares property names) the first wins, as in libzmq's std::map insert: put
// what the connection's own side vouches for (Peer-Address, the ZAP handler's User-Id and
// properties) before what the peer claims. Any goroutine.
func NewMetadata(pairs ...string) *Metadata {
	md := &Metadata{props: make([]property, 0, len(pairs)/2)}
	for i := 0; i+1 < len(pairs); i += 2 {
		md.add(pairs[i], pairs[i+1])
	}
	return md
}

// With returns a copy of md with name set to value unless md already has name. Building
// only: call it before the Metadata is shared. Any goroutine.
func (md *Metadata) With(name, value string) *Metadata {
	n := &Metadata{}
	if md != nil {
		n.props = append(make([]property, 0, len(md.props)+1), md.props...)
	}
	n.add(name, value)
	return n
}

func (md *Metadata) add(name, value string) {
	for _, p := range md.props {
		if strings.EqualFold(p.name, name) {
			return
		}
	}
	md.props = append(md.props, property{name, value})
}

// Get returns the value of the property called name and whether there is one. Names match
// exactly first, then regardless of case (rfc 37 says property names are case-insensitive; libzmq
// compares them exactly, and an exact match finds what libzmq finds). "Identity", libzmq 4.3's
// older name, finds Routing-Id when the peer sent no Identity of its own. A nil Metadata has no
// properties. It never allocates. Any goroutine.
func (md *Metadata) Get(name string) (string, bool) {
	if md == nil {
		return "", false
	}
	for _, p := range md.props {
		if p.name == name {
			return p.value, true
		}
	}
	for _, p := range md.props {
		if strings.EqualFold(p.name, name) {
			return p.value, true
		}
	}
	if strings.EqualFold(name, "Identity") {
		return md.Get(PropRoutingID)
	}
	return "", false
}

// Len returns the number of properties. Any goroutine.
func (md *Metadata) Len() int {
	if md == nil {
		return 0
	}
	return len(md.props)
}

// Each calls f with every property in order. Any goroutine.
func (md *Metadata) Each(f func(name, value string)) {
	if md == nil {
		return
	}
	for _, p := range md.props {
		f(p.name, p.value)
	}
}

// SetMetadata gives m the metadata of the connection it arrived over (nil: none). The metadata
// is shared, not copied. Called by whoever receives m from the wire; sockets clear it on send, as
// libzmq does (a forwarded message does not carry its old connection's properties). The owner's
// goroutine.
func (m *Msg) SetMetadata(md *Metadata) {
	m.live("SetMetadata")
	m.md = md
}

// Metadata returns the metadata of the connection m arrived over, or nil (a message made
// locally, or received over inproc, which has no connection: libzmq gives such messages none).
// The owner's goroutine.
func (m *Msg) Metadata() *Metadata {
	m.live("Metadata")
	return m.md
}

// Gets is zmq_msg_gets: the value of the property called name of the connection m arrived
// over (see Metadata.Get), and whether it has one. It never allocates. The owner's goroutine.
func (m *Msg) Gets(name string) (string, bool) {
	m.live("Gets")
	return m.md.Get(name)
}
