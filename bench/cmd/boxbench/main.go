// Command boxbench measures the CURVE cipher alone, with no I/O: golang.org/x/crypto's nacl/box
// with a precomputed key, which zloop's CURVE seals and opens every MESSAGE with, against
// libsodium's crypto_box_easy_afternm, which libzmq's does (bin/libzmq-c/box, c/box.c). Both run
// in turn, interleaved, on this machine; the table gives the medians of the runs' fastest passes.
// It is the ceiling for a CURVE throughput result: a sender cannot box faster than this, nor a
// receiver open faster.
//
//	boxbench [-bin bin] [-sizes 64,1024,65536,1048576] [-runs 5] [-out DIR -name NAME]
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/nacl/box"

	"github.com/zloop/zloop/bench/internal/stats"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding libzmq-c/box")
	sizes := flag.String("sizes", "64,1024,65536,1048576", "message sizes in bytes, comma-separated")
	runs := flag.Int("runs", 5, "interleaved runs of each size and implementation")
	out := flag.String("out", "", "directory for NAME.md (stdout only when empty)")
	name := flag.String("name", time.Now().UTC().Format("2006-01-02")+"-box", "result file name, without .md")
	flag.Parse()
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 1<<30 {
			fmt.Fprintf(os.Stderr, "boxbench: bad size %q\n", f)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "boxbench: -runs must be at least 1")
		os.Exit(2)
	}
	cbox := filepath.Join(*bin, "libzmq-c", "box")
	start := time.Now()
	type row struct{ goSeal, goOpen, cSeal, cOpen []float64 }
	rows := make([]row, len(ns))
	for r := 0; r < *runs; r++ {
		for i, n := range ns {
			iters := iterations(n)
			s, o := goBox(n, iters)
			rows[i].goSeal = append(rows[i].goSeal, s)
			rows[i].goOpen = append(rows[i].goOpen, o)
			s, o, err := cBox(cbox, n, iters)
			if err != nil {
				fmt.Fprintln(os.Stderr, "boxbench:", err)
				os.Exit(1)
			}
			rows[i].cSeal = append(rows[i].cSeal, s)
			rows[i].cOpen = append(rows[i].cOpen, o)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# The CURVE cipher alone: x/crypto's box (zloop) against libsodium's (libzmq)\n\n")
	fmt.Fprintf(&b, "Run %s UTC, %d CPUs, %s, %d interleaved run(s) of each, %s.\n\n",
		start.UTC().Format("2006-01-02 15:04"), runtime.NumCPU(), runtime.Version(), *runs, time.Since(start).Round(time.Second))
	fmt.Fprintf(&b, "Command: `boxbench -sizes %s -runs %d`. Medians of each run's fastest of 3 passes, one\n", *sizes, *runs)
	fmt.Fprintf(&b, "message body boxed (seal) or opened (open) with a precomputed key and a nonce changed for every message (its last byte), no I/O.\n\n")
	fmt.Fprintf(&b, "| size | seal x/crypto | seal libsodium | open x/crypto | open libsodium | x/crypto / libsodium time (seal, open) |\n")
	fmt.Fprintf(&b, "|---:|---:|---:|---:|---:|---:|\n")
	for i, n := range ns {
		gs, gop, cs, co := stats.Median(rows[i].goSeal), stats.Median(rows[i].goOpen), stats.Median(rows[i].cSeal), stats.Median(rows[i].cOpen)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f, %.2f |\n", stats.SizeName(n), rate(n, gs), rate(n, cs), rate(n, gop), rate(n, co), gs/cs, gop/co)
	}
	fmt.Print(b.String())
	if *out != "" {
		if err := os.WriteFile(filepath.Join(*out, *name+".md"), []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "boxbench:", err)
			os.Exit(1)
		}
	}
}

// iterations gives each pass about 30 ms at 1 GB/s, and at least 50 messages.
func iterations(n int) int {
	return max(50, 30_000_000/max(n, 64))
}

// goBox is c/box.c in Go: the fastest of 3 passes, in ns per seal and per open.
func goBox(n, iters int) (seal, open float64) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	var shared [32]byte
	box.Precompute(&shared, pub, priv)
	plain := make([]byte, n)
	boxed := make([]byte, 0, n+box.Overhead)
	opened := make([]byte, 0, n)
	var nonce [24]byte
	for pass := 0; pass < 3; pass++ {
		t := time.Now()
		for i := 0; i < iters; i++ {
			nonce[23] = byte(i)
			boxed = box.SealAfterPrecomputation(boxed[:0], plain, &nonce, &shared)
		}
		s := float64(time.Since(t).Nanoseconds()) / float64(iters)
		t = time.Now()
		for i := 0; i < iters; i++ {
			var ok bool
			if opened, ok = box.OpenAfterPrecomputation(opened[:0], boxed, &nonce, &shared); !ok {
				panic("boxbench: open failed")
			}
		}
		o := float64(time.Since(t).Nanoseconds()) / float64(iters)
		if pass == 0 || s < seal {
			seal = s
		}
		if pass == 0 || o < open {
			open = o
		}
	}
	return seal, open
}

func cBox(path string, n, iters int) (seal, open float64, err error) {
	cmd := exec.Command(path, strconv.Itoa(n), strconv.Itoa(iters))
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w (build it with make -C bench box)", path, err)
	}
	if _, err := fmt.Sscanf(string(outb), "seal_ns=%g open_ns=%g", &seal, &open); err != nil {
		return 0, 0, fmt.Errorf("%s: unexpected output %q: %w", path, outb, err)
	}
	return seal, open, nil
}

func rate(n int, ns float64) string {
	if ns >= 10_000 {
		return fmt.Sprintf("%.1f µs (%.0f MB/s)", ns/1000, float64(n)/ns*1000)
	}
	return fmt.Sprintf("%.0f ns (%.0f MB/s)", ns, float64(n)/ns*1000)
}
