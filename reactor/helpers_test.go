package reactor

import "github.com/zloop/zloop/pool"

func newTestMsg(i int) *pool.Msg {
	m := pool.NewMsg()
	m.AppendFrame([]byte{byte(i)})
	return m
}
