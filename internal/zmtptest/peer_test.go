package zmtptest

import (
	"net"
	"testing"
	"time"

	"github.com/zloop/zloop/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, nil) }

// Two raw peers talk to each other: the handshake completes and a multipart message arrives whole.
func TestPeerPair(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	pa, pb := New(a, "PUSH"), New(b, "PULL")
	errs := make(chan error, 1)
	go func() { errs <- pb.Handshake(5 * time.Second) }()
	if err := pa.Handshake(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if pa.Info.SocketType != "PULL" || pb.Info.SocketType != "PUSH" {
		t.Fatalf("peer types %q %q", pa.Info.SocketType, pb.Info.SocketType)
	}
	go func() { errs <- pa.SendFrames([]byte("a"), nil, []byte("ccc")) }()
	m, err := pb.Recv(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 || string(m[0]) != "a" || len(m[1]) != 0 || string(m[2]) != "ccc" {
		t.Fatalf("got %q", m)
	}
}
