package testpeer_test

import (
	"fmt"

	"github.com/zloop/zloop/internal/testpeer"
)

// Sequence messages let a bulk test move many messages to or from a peer while only a
// verdict crosses the pipe: the Go side builds bodies with SeqPayload for the peer's
// RecvCheckPattern, or checks what the peer's SendSeq sent with CheckSeqPattern.
func ExampleSeqPayload() {
	body := testpeer.SeqPayload(nil, 2, 12)
	fmt.Printf("% x\n", body)
	fmt.Println(testpeer.CheckSeqPattern(body, 2, 12))
	fmt.Println(testpeer.CheckSeq(body, 3, 12))
	// Output:
	// 02 00 00 00 00 00 00 00 04 23 42 61
	// <nil>
	// zmq: testpeer: not the expected sequence message: message 3 carries sequence 2
}
