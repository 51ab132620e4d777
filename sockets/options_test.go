package sockets

import (
	"crypto/tls"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOptionValidation: out-of-range values of the TCP and IP options are refused by New and
// SetOptions with ErrInvalid, as libzmq's zmq_setsockopt refuses them with EINVAL.
func TestOptionValidation(t *testing.T) {
	r := newReactor(t)
	bad := map[string]Option{
		"keepalive 2":          WithTCPKeepAlive(2),
		"keepalive -2":         WithTCPKeepAlive(-2),
		"keepalive cnt 0":      WithTCPKeepAliveCnt(0),
		"keepalive cnt -5":     WithTCPKeepAliveCnt(-5),
		"keepalive idle 0":     WithTCPKeepAliveIdle(0),
		"keepalive idle 10ms":  WithTCPKeepAliveIdle(10 * time.Millisecond),
		"keepalive intvl 0":    WithTCPKeepAliveIntvl(0),
		"maxrt negative":       WithTCPMaxRT(-time.Second),
		"tos 256":              WithTOS(256),
		"tos -1":               WithTOS(-1),
		"device name too long": WithBindToDevice(strings.Repeat("x", 16)),
		"backlog -1":           WithBacklog(-1),
	}
	for name, o := range bad {
		if _, err := NewOn(r, Pull, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("New with %s: %v, want ErrInvalid", name, err)
		}
		s := newSocket(t, r, Pull)
		if err := s.SetOptions(o); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetOptions with %s: %v, want ErrInvalid", name, err)
		}
	}
	good := []Option{WithTCPKeepAlive(-1), WithTCPKeepAlive(1), WithTCPKeepAliveCnt(-1), WithTCPKeepAliveCnt(4),
		WithTCPKeepAliveIdle(-1), WithTCPKeepAliveIdle(time.Second), WithTCPKeepAliveIntvl(3 * time.Second),
		WithTCPMaxRT(0), WithTOS(255), WithBindToDevice(""), WithBacklog(0), WithIPv6(true),
		WithConnectTimeout(time.Second), WithSndBuf(1 << 16), WithRcvBuf(1 << 16)}
	s := newSocket(t, r, Pull)
	for i, o := range good {
		if err := s.SetOptions(o); err != nil {
			t.Errorf("good option %d: %v", i, err)
		}
	}
	o := s.Options()
	if o.ConnectTimeout != time.Second || o.SndBuf != 1<<16 || o.RcvBuf != 1<<16 || !o.IPv6 || o.TOS != 255 {
		t.Fatalf("options not kept: %+v", o)
	}
}

// TestIPv6Option: with ZMQ_IPV6 the wildcard binds IPv6 and IPv4 peers both connect (dual
// stack); without it, the wildcard is IPv4's.
func TestIPv6Option(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("no IPv6 loopback")
	}
	r := newReactor(t)
	ctx := testCtx(t)
	for _, ipv6 := range []bool{false, true} {
		t.Run(fmt.Sprintf("ipv6=%v", ipv6), func(t *testing.T) {
			pull := newSocket(t, r, Pull, WithIPv6(ipv6))
			ep, err := pull.Bind("tcp://*:*")
			if err != nil {
				t.Fatal(err)
			}
			want := "tcp://0.0.0.0:"
			peers := []string{"127.0.0.1"}
			if ipv6 {
				want = "tcp://[::]:"
				peers = append(peers, "[::1]")
			}
			if !strings.HasPrefix(ep, want) {
				t.Fatalf("bound %s, want %s...", ep, want)
			}
			for _, host := range peers {
				push := newSocket(t, r, Push)
				if err := push.Connect(fmt.Sprintf("tcp://%s:%d", host, portOf(t, ep))); err != nil {
					t.Fatal(err)
				}
				if err := push.Send(ctx, []byte(host)); err != nil {
					t.Fatal(err)
				}
				if m, err := pull.Recv(ctx); err != nil || string(m[0]) != host {
					t.Fatalf("from %s: %q %v", host, m, err)
				}
			}
		})
	}
}

// portOf returns the port of a resolved tcp:// endpoint.
func portOf(t testing.TB, ep string) int {
	t.Helper()
	i := strings.LastIndexByte(ep, ':')
	p, err := strconv.Atoi(ep[i+1:])
	if err != nil {
		t.Fatalf("no port in %s", ep)
	}
	return p
}

// TestEveryOptionHasWith: each field of Options is set by some With option. A new field fails
// here until it has one (and is listed).
func TestEveryOptionHasWith(t *testing.T) {
	withs := []Option{
		WithSndHWM(1), WithRcvHWM(2), WithLinger(3), WithSndTimeout(4), WithRcvTimeout(5),
		WithRoutingID([]byte("id")), WithReconnectIvl(6, 7), WithConnectTimeout(8), WithHandshakeIvl(9),
		WithHeartbeat(10, 11, 12), WithMaxMsgSize(13), WithSndBuf(14), WithRcvBuf(15), WithImmediate(true),
		WithMetadata("X-A", "b"), WithPlainServer(true, func(string, string) bool { return true }),
		WithPlainClient("u", "p"), WithTCPKeepAlive(1), WithTCPKeepAliveCnt(16),
		WithTCPKeepAliveIdle(17 * time.Second), WithTCPKeepAliveIntvl(18 * time.Second), WithTCPMaxRT(19),
		WithTOS(20), WithBindToDevice("lo"), WithBacklog(21), WithIPv6(true), WithRouterMandatory(true),
		WithRouterHandover(true), WithConnectRoutingID([]byte("c")), WithProbeRouter(true),
		WithXPubNoDrop(true), WithReqRelaxed(true), WithReqCorrelate(true), WithConflate(true),
		WithXPubVerbose(true), WithXPubVerboser(true), WithXPubManual(true), WithInvertMatching(true),
		WithStreamNotify(false), WithXPubWelcomeMsg([]byte("w")), WithZAPDomain("d"), WithZAPEnforceDomain(true),
		WithZAPHandler(func(ZAPRequest) ZAPReply { return ZAPReply{} }), WithTLS(&tls.Config{ServerName: "s"}),
		WithCurveServer(true),
		WithCurveSecretKey("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"),
		WithCurvePublicKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"),
		WithCurveServerKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"),
	}
	def, set := DefaultOptions(), DefaultOptions()
	for _, o := range withs {
		o(&set)
	}
	dv, sv := reflect.ValueOf(def), reflect.ValueOf(set)
	for i := 0; i < dv.NumField(); i++ {
		f := dv.Type().Field(i)
		if f.Type.Kind() == reflect.Func {
			if sv.Field(i).IsNil() {
				t.Errorf("no With option sets %s", f.Name)
			}
			continue
		}
		if reflect.DeepEqual(dv.Field(i).Interface(), sv.Field(i).Interface()) {
			t.Errorf("no With option (in this list) sets %s", f.Name)
		}
	}
}
