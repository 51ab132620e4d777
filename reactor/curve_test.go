package reactor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zloop/zloop/zmtp"
)

// CURVE over tcp and ws through the reactor: the server's one authorization hook
// (zmtp.Config.CurveAuthorize, the seam ZAP plugs into) sees each client's long-term key after
// INITIATE; a client it admits gets through, one it refuses fails the handshake as an
// authentication failure on both sides (HANDSHAKE_FAILED_AUTH), as libzmq reports a ZAP refusal.
func TestHandshakeCurveAuthorize(t *testing.T) {
	for _, tr := range []string{"tcp", "ws"} {
		t.Run(tr, func(t *testing.T) {
			r := newTestReactor(t, Config{Loops: 1})
			sp, ss, _ := zmtp.CurveKeypair()
			gp, gs, _ := zmtp.CurveKeypair() // admitted
			_, xs, _ := zmtp.CurveKeypair()  // refused
			server := testOptions("PULL")
			server.Session.Curve, server.Session.CurveServer = true, true
			server.Session.CurvePublicKey, server.Session.CurveSecretKey = sp, ss
			server.Session.CurveAuthorize = func(key []byte) error {
				if bytes.Equal(key, gp[:]) {
					return nil
				}
				return errors.New("unknown client key")
			}
			client := func(secret zmtp.CurveKey) *Options {
				o := testOptions("PUSH")
				o.Session.Curve = true
				o.Session.CurveSecretKey, o.Session.CurvePublicKey = secret, zmtp.CurvePublic(secret)
				o.Session.CurveServerKey = sp
				return o
			}
			bo := newOwner(t, "server")
			l := listen(t, r, bindAddr(tr), server, bo)

			good := newOwner(t, "good")
			connect(t, r, l.Endpoint(), client(gs), good)
			good.waitAttached(t)
			if bp := bo.waitAttached(t); bp.Peer().Mechanism != zmtp.MechanismCurve {
				t.Fatalf("the server's peer %+v", bp.Peer())
			}

			bad := newOwner(t, "bad")
			connect(t, r, l.Endpoint(), client(xs), bad)
			if e := bad.waitEvent(t, EventHandshakeFailedAuth); !errors.Is(e.Err, zmtp.ErrAuthentication) {
				t.Fatalf("refused client: %v", e.Err)
			}
			if e := bo.waitEvent(t, EventHandshakeFailedAuth); !errors.Is(e.Err, zmtp.ErrAuthentication) {
				t.Fatalf("the server refused with %v", e.Err)
			}
		})
	}
}
