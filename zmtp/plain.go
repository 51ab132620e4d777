package zmtp

import "github.com/zloop/zloop/codec"

// PLAIN's command names (rfc 24).
const (
	cmdHello    = "HELLO"
	cmdWelcome  = "WELCOME"
	cmdInitiate = "INITIATE"
)

// PropUserID is the property a server adds to its peer's metadata when a ZAP handler admitted
// it: the user id of the reply (for PLAIN with Config.Authenticate, the username).
const PropUserID = "User-Id"

// plainMechanism is rfc 24's PLAIN: the client sends HELLO with its username and password, the
// server answers WELCOME (or ERROR), the client sends INITIATE with its metadata and the server READY
// with its own. Credentials travel in clear text; PLAIN only says who is connecting.
type plainMechanism struct {
	server   bool
	username []byte           // client
	password []byte           // client
	auth     *authorizer      // server: asks ZAP about the client after its HELLO
	props    []codec.Property // our metadata, for INITIATE (client) or READY (server)
	metadata metadataFunc

	step     int // commands received so far
	finished bool
}

func (m *plainMechanism) name() string { return MechanismPlain }

func (m *plainMechanism) start(w *wire, out []byte) ([]byte, error) {
	if m.server {
		return out, nil // the client speaks first
	}
	data := make([]byte, 0, 2+len(m.username)+len(m.password))
	data = append(data, byte(len(m.username)))
	data = append(data, m.username...)
	data = append(data, byte(len(m.password)))
	data = append(data, m.password...)
	return w.command(out, cmdHello, data), nil
}

func (m *plainMechanism) command(w *wire, c codec.Command, out []byte) ([]byte, error) {
	if m.server {
		return m.serverCommand(w, c, out)
	}
	return m.clientCommand(w, c, out)
}

func (m *plainMechanism) clientCommand(w *wire, c codec.Command, out []byte) ([]byte, error) {
	switch {
	case m.step == 0 && c.Is(cmdWelcome):
		m.step++
		return w.metadata(out, cmdInitiate, m.props...), nil
	case m.step == 1 && c.Is(codec.CmdReady):
		out, err := m.metadata(c.Data, out)
		if err != nil {
			return out, err
		}
		m.step++
		m.finished = true
		return out, nil
	}
	return out, unexpectedCommand("handshake", c)
}

func (m *plainMechanism) serverCommand(w *wire, c codec.Command, out []byte) ([]byte, error) {
	switch {
	case m.step == 0 && c.Is(cmdHello):
		user, pass, ok := parseHello(c.Data)
		if !ok {
			return out, &Error{Op: "handshake", Err: codec.ErrMalformed, Detail: "PLAIN HELLO"}
		}
		m.step++ // from here on a second HELLO is out of order, whatever ZAP says
		return m.auth.ask(w, zapPlain, MechanismPlain, [][]byte{user, pass}, out, func(w *wire, out []byte) ([]byte, error) {
			return w.command(out, cmdWelcome, nil), nil
		})
	case m.step == 1 && c.Is(cmdInitiate):
		// The User-Id the ZAP handler gave replaces whatever the client called User-Id itself
		// (Session.becomeReady).
		out, err := m.metadata(c.Data, out)
		if err != nil {
			return out, err
		}
		m.step++
		m.finished = true
		return w.metadata(out, codec.CmdReady, m.props...), nil
	}
	return out, unexpectedCommand("handshake", c)
}

func (m *plainMechanism) done() bool { return m.finished }

// parseHello splits a HELLO's data into username and password; both must fill it exactly.
func parseHello(d []byte) (user, pass []byte, ok bool) {
	if len(d) < 1 || len(d) < 1+int(d[0])+1 {
		return nil, nil, false
	}
	user, d = d[1:1+int(d[0])], d[1+int(d[0]):]
	if len(d) != 1+int(d[0]) {
		return nil, nil, false
	}
	return user, d[1:], true
}
