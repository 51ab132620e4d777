//go:build linux || ((darwin || dragonfly || freebsd || netbsd || openbsd) && !poll_opt)

package reactor

import (
	"reflect"

	"github.com/panjf2000/gnet/v2"
)

// pollerFD returns the descriptor of el's poller (gnet keeps it unexported: its loop's poller's
// fd field), or -1 unless that poller has a field named marker, the sign that it is the default
// build whose events carry the descriptor itself. The callers verify what they found by a probe.
func pollerFD(el gnet.EventLoop, marker string) int {
	v := reflect.ValueOf(el)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return -1
	}
	p := v.Elem().FieldByName("poller")
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Elem().Kind() != reflect.Struct {
		return -1
	}
	p = p.Elem()
	if _, ok := p.Type().FieldByName(marker); !ok {
		return -1
	}
	fd := p.FieldByName("fd")
	if fd.Kind() != reflect.Int || fd.Int() < 0 {
		return -1
	}
	return int(fd.Int())
}
