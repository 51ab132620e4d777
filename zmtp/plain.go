package zmtp

import (
	"bytes"
	"strings"

	"github.com/zloop/zloop/codec"
)

// PLAIN's command names (rfc 24).
const (
	cmdHello    = "HELLO"
	cmdWelcome  = "WELCOME"
	cmdInitiate = "INITIATE"
)

// PropUserID is the property a PLAIN server adds to its peer's metadata: the username the client
// authenticated with (libzmq's ZAP User-Id for PLAIN).
const PropUserID = "User-Id"

// errorAuthentication is the reason a PLAIN server gives in its ERROR to a refused client.
const errorAuthentication = "Authentication failed"

// plainMechanism is rfc 24's PLAIN: the client sends HELLO with its username and password, the
// server answers WELCOME (or ERROR), the client sends INITIATE with its metadata and the server READY
// with its own. Credentials travel in clear text; PLAIN only says who is connecting.
type plainMechanism struct {
	server   bool
	username []byte // client
	password []byte // client
	auth     func(username, password []byte) bool
	props    []codec.Property // our metadata, for INITIATE (client) or READY (server)
	metadata metadataFunc
	peer     *Peer

	step     int    // commands received so far
	userID   []byte // server: the authenticated username
	finished bool
}

func (m *plainMechanism) name() string { return MechanismPlain }

func (m *plainMechanism) start(w *wire, out []byte) []byte {
	if m.server {
		return out // the client speaks first
	}
	data := make([]byte, 0, 2+len(m.username)+len(m.password))
	data = append(data, byte(len(m.username)))
	data = append(data, m.username...)
	data = append(data, byte(len(m.password)))
	data = append(data, m.password...)
	return w.command(out, cmdHello, data)
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
		if m.auth == nil || !m.auth(user, pass) {
			out = w.error(out, errorAuthentication)
			return out, &Error{Op: "handshake", Err: ErrAuthentication, Detail: "user " + quote(string(user))}
		}
		m.userID = bytes.Clone(user)
		m.step++
		return w.command(out, cmdWelcome, nil), nil
	case m.step == 1 && c.Is(cmdInitiate):
		out, err := m.metadata(c.Data, out)
		if err != nil {
			return out, err
		}
		// Only the server's word counts: drop whatever the client called User-Id itself, in any
		// case, since Peer.Property matches names case-insensitively. (metadata set the map.)
		for k := range m.peer.Properties {
			if strings.EqualFold(k, PropUserID) {
				delete(m.peer.Properties, k)
			}
		}
		m.peer.Properties[PropUserID] = m.userID
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
