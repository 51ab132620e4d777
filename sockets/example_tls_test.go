package sockets_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/zloop/zloop/internal/testcert"
	"github.com/zloop/zloop/reactor"
	"github.com/zloop/zloop/sockets"
)

// REQ to REP over tls:// with mutual TLS: the server presents its certificate and requires the
// client's, both signed by one CA (made here for the example; use your own). The client's server
// name defaults to the endpoint's host, here "localhost".
func ExampleWithTLS() {
	ctx := context.Background()
	certs, _ := testcert.NewSet() // a throwaway CA, server and client certificate
	server := &tls.Config{
		Certificates: []tls.Certificate{certs.Server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    certs.CA.Pool(),
	}
	client := &tls.Config{RootCAs: certs.CA.Pool(), Certificates: []tls.Certificate{certs.Client}}

	rep, _ := sockets.New(sockets.Rep, sockets.WithTLS(server))
	defer rep.Close()
	ep, _ := rep.Bind("tls://127.0.0.1:*")
	port := ep[len("tls://127.0.0.1"):]

	req, _ := sockets.New(sockets.Req, sockets.WithTLS(client))
	defer req.Close()
	_ = req.Connect("tls://localhost" + port)

	go func() {
		q, _ := rep.Recv(ctx)
		_ = rep.Send(ctx, append([]byte("secret "), q[0]...))
	}()
	_ = req.Send(ctx, []byte("ping"))
	r, _ := req.Recv(ctx)
	fmt.Printf("%s\n", r[0])
	// Output: secret ping
}

// wss:// is ZWS 2.0 over TLS, the same options; a socket without a TLS configuration cannot use
// either transport.
func ExampleWithTLS_wss() {
	ctx := context.Background()
	certs, _ := testcert.NewSet()
	pull, _ := sockets.New(sockets.Pull, sockets.WithTLS(&tls.Config{Certificates: []tls.Certificate{certs.Server}}))
	defer pull.Close()
	ep, _ := pull.Bind("wss://127.0.0.1:*/zmq")

	plain, _ := sockets.New(sockets.Push)
	defer plain.Close()
	err := plain.Connect(ep)
	fmt.Println(errors.Is(err, reactor.ErrTLSConfig))

	push, _ := sockets.New(sockets.Push, sockets.WithTLS(&tls.Config{RootCAs: certs.CA.Pool()}))
	defer push.Close()
	_ = push.Connect(ep)
	_ = push.Send(ctx, []byte("over"), []byte("wss"))
	m, _ := pull.Recv(ctx)
	fmt.Printf("%s %s\n", m[0], m[1])
	// Output:
	// true
	// over wss
}
