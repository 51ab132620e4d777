package reactor_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/zloop/zloop/codec"
	"github.com/zloop/zloop/internal/testcert"
	"github.com/zloop/zloop/reactor"
)

// attachOwner reports each pipe that completed its handshake.
type attachOwner struct{ attached chan *reactor.Pipe }

func (o attachOwner) PipeAttached(p *reactor.Pipe)           { o.attached <- p }
func (attachOwner) PipeDetached(*reactor.Pipe, bool)         {}
func (attachOwner) PipeReadable(*reactor.Pipe)               {}
func (attachOwner) PipeWritable(*reactor.Pipe)               {}
func (attachOwner) PipeCommand(*reactor.Pipe, codec.Command) {}
func (attachOwner) Event(reactor.Event)                      {}

// With mutual TLS each side sees the other's verified certificate on its pipe: the subject, the
// SHA-256 fingerprint of the leaf, and the names message metadata gives them.
func ExampleTLSPeer() {
	certs, _ := testcert.NewSet() // a throwaway CA, server and client certificate
	r, _ := reactor.New(reactor.Config{})
	defer r.Close()

	server := &reactor.Options{TLS: certs.ServerConfig(true)} // requires a client certificate
	server.Session.SocketType = "PAIR"
	srv := attachOwner{make(chan *reactor.Pipe, 1)}
	l, _ := r.Listen("tls://127.0.0.1:*", server, srv)
	defer l.Close()

	client := &reactor.Options{TLS: certs.ClientConfig()}
	client.Session.SocketType = "PAIR"
	cli := attachOwner{make(chan *reactor.Pipe, 1)}
	d, _ := r.Connect(l.Endpoint(), client, cli)
	defer d.Close(0)

	peer := (<-srv.attached).TLS()
	fmt.Println(peer.Subject)
	fmt.Println(peer.Fingerprint == sha256.Sum256(certs.Client.Leaf.Raw))
	fmt.Println(peer.Metadata()["TLS-Subject"])
	fmt.Println((<-cli.attached).TLS().Subject)
	// Output:
	// CN=zloop client,O=zloop test
	// true
	// CN=zloop client,O=zloop test
	// CN=zloop server,O=zloop test
}
