package zmtp

import (
	"testing"
	"time"

	"github.com/zloop/zloop/codec"
)

type quiet struct{}

func (quiet) Ready(*Peer) error          { return nil }
func (quiet) Frame(int, bool, bool) bool { return true }
func (quiet) FrameData([]byte, bool)     {}
func (quiet) Command(codec.Command)      {}

// After the handshake neither side keeps a transient secret, the server no cookie key and no
// cookie: only the shared key of the transient pair remains, in the cipher.
func TestCurveTransientKeysErased(t *testing.T) {
	sp, ss, _ := CurveKeypair()
	cp, cs, _ := CurveKeypair()
	c := NewSession(&Config{SocketType: "DEALER", Curve: true, CurvePublicKey: cp, CurveSecretKey: cs, CurveServerKey: sp})
	s := NewSession(&Config{SocketType: "DEALER", Curve: true, CurveServer: true, CurvePublicKey: sp, CurveSecretKey: ss,
		Authorize: func(*ZAPRequest) *ZAPReply { return &ZAPReply{StatusCode: ZAPOK} }})
	now := time.Unix(1, 0)
	co, so := c.Start(now, nil), s.Start(now, nil)
	var toS, toC []byte // what each has not consumed yet, offered again with what follows
	for i := 0; i < 20 && (len(co) > 0 || len(so) > 0); i++ {
		toS, toC = append(toS, co...), append(toC, so...)
		n, ns, err := s.Read(toS, now, nil, quiet{})
		if err != nil {
			t.Fatal(err)
		}
		toS = toS[n:]
		m, nc, err := c.Read(toC, now, nil, quiet{})
		if err != nil {
			t.Fatal(err)
		}
		toC = toC[m:]
		co, so = nc, ns
	}
	if !c.Ready() || !s.Ready() {
		t.Fatal("no handshake")
	}
	var zero CurveKey
	for name, m := range map[string]*curveMechanism{"client": c.mech.(*curveMechanism), "server": s.mech.(*curveMechanism)} {
		if m.tSecret != zero || m.cookieKey != zero || m.cookie != [codec.CurveCookieSize]byte{} || m.scratch != nil {
			t.Errorf("%s keeps handshake secrets", name)
		}
		if m.cipher.shared == zero {
			t.Errorf("%s has no shared key", name)
		}
	}
	if c.cipher.shared != s.cipher.shared {
		t.Error("the two sides disagree on the shared key")
	}
}
