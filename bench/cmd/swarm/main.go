// Command swarm opens many raw ZMTP 3.1 connections to one server and measures it: connect rate
// and the server's RSS per connection (idle), deliveries per second to SUBs (sub), or round trips
// per second and RTT to an echoing ROUTER (dealer). See bench/CONTRACT.md, "swarm".
package main

import (
	"os"

	"github.com/zloop/zloop/bench/internal/swarm"
)

func main() { os.Exit(swarm.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
