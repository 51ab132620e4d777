#!/usr/bin/env bash
# The whole test suite, set-up included: it installs the real peers the interop tests and the
# libzmq benchmark tools need (Debian's libzmq3-dev and python3-zmq for libzmq 4.3,
# default-jre-headless and libjeromq-java for a ZMTP 2.0 peer, iproute2's ss for the listen backlog
# check, stunnel4 for TLS in front of libzmq on tls:// and wss://) when they are missing, then vets every package and builds the examples for each platform
# gnet runs on, runs every package with the race detector, then the core packages without it (the
# full-size bulk test, and the zero-allocation checks the race build cannot make), then the
# benchmark module's own tests and a smoke run of its tools; every go test benchmark also runs once.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f /usr/include/zmq.h ] || ! /usr/bin/python3 -c 'import zmq' 2>/dev/null ||
  [ ! -x /usr/bin/java ] || [ ! -f /usr/share/java/jeromq.jar ] || ! command -v ss >/dev/null ||
  ! command -v stunnel4 >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y libzmq3-dev python3-zmq \
    default-jre-headless libjeromq-java iproute2 stunnel4
fi

go vet ./...
# Every platform gnet runs on, cross-compiled: vet (code and tests) and build every example. Only
# Linux runs the tests; the others are compiled, never run, here or in CI.
for os in linux darwin freebsd windows; do
  for arch in amd64 arm64; do
    GOOS=$os GOARCH=$arch CGO_ENABLED=0 go vet ./...
    GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build ./examples/...
  done
done
go test -race -count=1 -timeout 20m ./...
# Without the race detector: the full-size bulk test and the tests the race build skips (the pool
# recycles nothing under -race, so zero-allocation and no-poison checks only mean something here).
go test -count=1 ./pool ./sockets ./codec ./zmtp ./ws
go test -count=1 -run '^$' -bench . -benchtime 1x ./... # every benchmark once, so none can rot
make -C bench test
make -C bench smoke
