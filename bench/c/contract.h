/* The bench contract (bench/CONTRACT.md) for libzmq's C API: argument parsing, the
 * single RESULT line, the exit codes, the process deadline and the figures, shared by thr.c and
 * lat.c. It mirrors bench/internal/contract (Go) so that the RESULT lines of the two agree field
 * for field, less the Go heap figures (allocs_per_msg, bytes_per_msg, num_gc), which C has not.
 *
 * Threads: everything here is called from the main thread, except that the watchdog thread
 * started by bench_start_watchdog may print the timeout RESULT line and _exit at the deadline;
 * bench_emit serialises the two so that exactly one RESULT line is printed. */
#ifndef BENCH_CONTRACT_H
#define BENCH_CONTRACT_H

#include <stdint.h>

#define BENCH_IMPL "libzmq-c"
#define BENCH_MAX_SIZE (1 << 30)
#define BENCH_MAX_FIGURES 16

enum bench_status { BENCH_OK, BENCH_TIMEOUT, BENCH_ERROR, BENCH_CHECK_FAILED };

struct bench_args {
	const char *tool; /* "thr" or "lat" */
	const char *role; /* send|recv (thr), req|rep (lat); the first positional argument, or "" */
	int bind;
	const char *endpoint;
	long size;
	long count;
	double timeout_s; /* default 60 */
	long hwm;         /* -1: the library's default */
	int check;        /* thr only */
	int no_wait;      /* thr send only: the Go tools' --no-wait extension */
	int fill;         /* thr send only: --fill, each message built in libzmq's buffer (zmq_msg_init_size) */
	long warmup;      /* lat only: default min(1000, count/20) */
	int curve;        /* --curve: CURVE with the contract's keys, the binding side the server */
};

struct bench_figure {
	char key[32];
	char value[48];
};

struct bench_result {
	enum bench_status status;
	struct bench_figure figures[BENCH_MAX_FIGURES];
	int nfigures;
};

/* bench_parse parses argv (without the program name) for tool, as the Go contract.Parse does:
 * flags anywhere, as --name VALUE, --name=VALUE or with one dash. On error it prints the reason
 * and the usage to stderr and returns -1; args then holds what was parsed, for the RESULT line. */
int bench_parse(const char *tool, int argc, char **argv, struct bench_args *args);

/* bench_add appends a figure formatted with printf's fmt. */
void bench_add(struct bench_result *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* bench_add_rate appends msg_per_s as contract.addRate does: whole messages at 1000/s and
 * above, three decimals below. */
void bench_add_rate(struct bench_result *r, double msg_per_s);

/* bench_emit prints the RESULT line for r once per process (later calls print nothing) and
 * returns the contract's exit code for r->status. */
int bench_emit(const struct bench_args *args, const struct bench_result *r);

/* bench_fail replaces r's figures by done=DONE and sets its status, as the Go tools report a
 * failed run. */
void bench_fail(struct bench_result *r, enum bench_status status, long done);

/* bench_start_watchdog starts the process deadline of args->timeout_s seconds: then it prints
 * a timeout RESULT line with done=*done (read without a lock: it is a progress hint) and exits 3. */
void bench_start_watchdog(const struct bench_args *args, const volatile long *done);

/* bench_now returns CLOCK_MONOTONIC in nanoseconds; bench_cpu the process's user+system CPU
 * time in nanoseconds (every thread, libzmq's I/O thread included, as the Go tools' cpu_s). */
int64_t bench_now(void);
int64_t bench_cpu(void);

/* bench_percentile is the nearest-rank percentile of sorted[0..n), as contract.Percentile. */
int64_t bench_percentile(const int64_t *sorted, long n, double p);

/* bench_put_seq and bench_get_seq write and read the little-endian uint64 sequence number at
 * the start of a payload. */
void bench_put_seq(unsigned char *p, uint64_t v);
uint64_t bench_get_seq(const unsigned char *p);

/* Socket helpers shared by thr and lat; on failure they print libzmq's error to stderr and
 * return NULL or -1. bench_open creates a socket with --hwm (SNDHWM and RCVHWM) and LINGER -1;
 * bench_attach binds or connects it to the endpoint; bench_close closes it, dropping what is
 * queued unless flush (LINGER 0 first). */
void *bench_open(void *ctx, int type, const struct bench_args *args);
int bench_attach(void *socket, const struct bench_args *args);
int bench_close(void *socket, int flush);

/* bench_monitor connects a PAIR to the monitor of socket (handshakes and disconnections);
 * bench_wait_peer_gone blocks until every peer that completed a handshake has disconnected,
 * like the Go tools' WaitPeerGone (the process deadline ends a wait that never ends). */
void *bench_monitor(void *ctx, void *socket);
int bench_wait_peer_gone(void *monitor);

#endif
