package reactor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/zloop/zloop/zmtp"
)

// CURVE over tcp and ws through the reactor: the server's ZAP handler (an Authorizer answering
// from another goroutine) sees each client's long-term key after INITIATE; a client it admits gets through, one it refuses fails the handshake as an
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
			server.Authorizer = authorizerFunc(func(z *ZAPCall) {
				go func() {
					st := zmtp.ZAPDenied
					if z.Request.Mechanism == zmtp.MechanismCurve && len(z.Request.Credentials) == 1 &&
						bytes.Equal(z.Request.Credentials[0], gp[:]) {
						st = zmtp.ZAPOK
					}
					z.Reply(&zmtp.ZAPReply{StatusCode: st})
				}()
			})
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

// authorizerFunc is an Authorizer in one function.
type authorizerFunc func(z *ZAPCall)

func (f authorizerFunc) Authorize(z *ZAPCall) { f(z) }
