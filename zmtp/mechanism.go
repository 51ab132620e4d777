package zmtp

import "github.com/zloop/zloop/codec"

// Mechanism names as they appear in the greeting.
const (
	MechanismNull  = "NULL"
	MechanismPlain = "PLAIN"
	MechanismCurve = "CURVE"
)

// mechanism is a security handshake (rfc 37 section "Security Mechanisms") as an I/O-free state
// machine. The session runs the greetings and hands every command to the mechanism until done
// reports true; ERROR commands are handled by the session because every mechanism treats them
// alike. nullMechanism and plainMechanism (plain.go) implement it; CURVE will.
//
// A server mechanism that needs a decision on its client calls auth.ask (zap.go) with its
// mechanism name, the credentials and its next step; the session then waits for the ZAP answer,
// consuming no input, and runs the next step (or refuses the client) once it comes.
type mechanism interface {
	// name is the mechanism as announced in our greeting.
	name() string
	// start runs once, when the peer's greeting has fully arrived, and appends the commands we
	// send first (NULL: READY, or nothing while it asks ZAP; a PLAIN or CURVE client: HELLO),
	// framed by w.
	start(w *wire, out []byte) ([]byte, error)
	// command handles one handshake command from the peer and appends any answer to out.
	// c aliases the caller's input and is valid only during the call.
	command(w *wire, c codec.Command, out []byte) ([]byte, error)
	// done reports that the handshake completed in both directions.
	done() bool
}

// metadataFunc receives the peer's authenticated metadata (the body of its READY, or of
// INITIATE for CURVE). It may append an ERROR to out and fail the handshake.
type metadataFunc func(data []byte, out []byte) ([]byte, error)

// nullMechanism is rfc 37's NULL: each side sends READY with its metadata once the peer's
// greeting has arrived; the handshake is complete when both READYs have crossed.
type nullMechanism struct {
	ready    []byte // the body of our READY, built once by NewSession
	metadata metadataFunc
	auth     *authorizer
	sent     bool
	received bool
}

// nullFinished stands for every NULL mechanism whose handshake is over: its name is all a session
// still asks of it (nothing writes to it: command and start run only during the handshake).
var nullFinished = &nullMechanism{sent: true, received: true}

func (m *nullMechanism) name() string { return MechanismNull }

// start sends READY, after asking ZAP when the socket has a ZAP_DOMAIN (either side may: NULL is
// symmetric, and libzmq asks wherever the domain is set).
func (m *nullMechanism) start(w *wire, out []byte) ([]byte, error) {
	return m.auth.ask(w, zapNull, MechanismNull, nil, out, func(w *wire, out []byte) ([]byte, error) {
		m.sent = true
		return w.frame(out, codec.FlagCommand, m.ready), nil
	})
}

func (m *nullMechanism) command(_ *wire, c codec.Command, out []byte) ([]byte, error) {
	if !c.Is(codec.CmdReady) || m.received {
		return out, unexpectedCommand("handshake", c)
	}
	out, err := m.metadata(c.Data, out)
	if err != nil {
		return out, err
	}
	m.received = true
	return out, nil
}

func (m *nullMechanism) done() bool { return m.sent && m.received }

func unexpectedCommand(op string, c codec.Command) error {
	return &Error{Op: op, Err: ErrUnexpectedCommand, Detail: quote(string(c.Name))}
}
