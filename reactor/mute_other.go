//go:build !linux && !((darwin || dragonfly || freebsd || netbsd || openbsd) && !poll_opt)

package reactor

import (
	"errors"

	"github.com/panjf2000/gnet/v2"
)

// No muting here: gnet's Windows loops read every connection on a goroutine of their own, with no
// poller to take a descriptor out of, and gnet's poll_opt build on the BSDs keeps a pointer in each
// kqueue filter that an add of ours would overwrite. A full reader's connection detaches instead
// where it can (see detachable), and otherwise stays in gnet, which keeps reading it.

func muterOf(gnet.EventLoop, int) int { return -1 }

// errNoMute is never seen: nothing mutes where muterOf finds no poller.
var errNoMute = errors.New("zmq: reactor: muting unavailable")

func mute(int, int) error { return errNoMute }

func unmute(int, int, bool) error { return errNoMute }
