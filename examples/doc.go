// Package examples holds zloop's short runnable examples (example_test.go, shown by go doc and
// checked by go test); the programs are in the folders below it, each runnable with no arguments:
//
//   - quickstart: PUSH->PULL and REQ->REP over TCP, with rates and latencies
//   - reqrep: request-reply
//   - pubsub: publish-subscribe with topics, the publisher an XPUB that waits for its subscribers
//   - broker: REQ clients and DEALER workers behind a broker made of two sockets.Serve handlers,
//     which route on the event loops (the loop-resident handler API)
//   - forwarder: the pub-sub forwarder, XSUB upstream and XPUB downstream joined by sockets.Proxy
package examples
