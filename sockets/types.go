package sockets

// Type is a ZeroMQ socket type. The values are libzmq's ZMQ_PAIR ... ZMQ_STREAM.
type Type int

// The socket types.
const (
	Pair   Type = 0
	Pub    Type = 1
	Sub    Type = 2
	Req    Type = 3
	Rep    Type = 4
	Dealer Type = 5
	Router Type = 6
	Pull   Type = 7
	Push   Type = 8
	XPub   Type = 9
	XSub   Type = 10
	Stream Type = 11
)

var typeNames = [...]string{"PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"}

// String returns the name the ZMTP handshake uses for t (its Socket-Type property).
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "UNKNOWN"
	}
	return typeNames[t]
}

// compatible lists the peer types each type may talk to (ZMTP 3.1, section "Socket Types").
var compatible = map[Type][]string{
	Pair:   {"PAIR"},
	Pub:    {"SUB", "XSUB"},
	Sub:    {"PUB", "XPUB"},
	Req:    {"REP", "ROUTER"},
	Rep:    {"REQ", "DEALER"},
	Dealer: {"REP", "DEALER", "ROUTER"},
	Router: {"REQ", "DEALER", "ROUTER"},
	Pull:   {"PUSH"},
	Push:   {"PULL"},
	XPub:   {"SUB", "XSUB"},
	XSub:   {"PUB", "XPUB"},
}

// Compatible reports whether a socket of type t may connect to a peer whose READY said peerType.
func (t Type) Compatible(peerType string) bool {
	for _, s := range compatible[t] {
		if s == peerType {
			return true
		}
	}
	return false
}
