/* thr: the bench contract's PUSH/PULL throughput tool on libzmq's C API (impl=libzmq-c).
 *
 *   thr send|recv bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--check] [--no-wait] [--fill]
 *
 * The loops are those of bench/internal/contract (Go), so that the figures mean the same; the
 * library calls are libzmq's own idioms (local_thr/remote_thr): zmq_send copies each payload
 * into a fresh message, and the receiver reuses one zmq_msg_t, which zmq_msg_recv refills. With
 * --fill (an extension) the sender sends zmq_msg_init_size's buffer itself, as remote_thr does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "contract.h"

static volatile long done; /* messages completed, for the watchdog's done= */

static int recv_msg(zmq_msg_t *msg, void *s)
{
	for (;;) {
		if (zmq_msg_recv(msg, s, 0) >= 0)
			return 0;
		if (zmq_errno() != EINTR)
			return -1;
	}
}

/* check is contract.checkMsg, with the frame count (free here) under --check as libzmqbench. */
static int check(const struct bench_args *a, long i, zmq_msg_t *msg)
{
	size_t n = zmq_msg_size(msg);
	if ((long)n != a->size) {
		fprintf(stderr, "thr recv libzmq-c: data check failed: message %ld has %zu bytes, want %ld\n", i, n,
			a->size);
		return -1;
	}
	if (!a->check)
		return 0;
	if (zmq_msg_more(msg)) {
		fprintf(stderr, "thr recv libzmq-c: data check failed: a message of more than one frame\n");
		return -1;
	}
	uint64_t seq = bench_get_seq(zmq_msg_data(msg));
	if (seq != (uint64_t)i) {
		fprintf(stderr, "thr recv libzmq-c: data check failed: message %ld carries sequence number %llu\n", i,
			(unsigned long long)seq);
		return -1;
	}
	return 0;
}

static enum bench_status thr_recv(const struct bench_args *a, void *s, struct bench_result *r)
{
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	enum bench_status st = BENCH_ERROR;
	long i = 0;
	if (recv_msg(&msg, s) < 0)
		goto sockerr;
	if (check(a, 0, &msg) < 0) {
		st = BENCH_CHECK_FAILED;
		goto fail;
	}
	/* As local_thr: the clock starts at the first message, and COUNT messages are counted over
	 * the time of the COUNT-1 that follow it. */
	int64_t t0 = bench_now(), c0 = bench_cpu();
	for (i = 1; i < a->count; i++) {
		done = i;
		if (recv_msg(&msg, s) < 0)
			goto sockerr;
		if (check(a, i, &msg) < 0) {
			st = BENCH_CHECK_FAILED;
			goto fail;
		}
	}
	int64_t c1 = bench_cpu(), t1 = bench_now();
	done = a->count;
	zmq_msg_close(&msg);
	double el = (double)(t1 - t0) / 1e9, mps = el > 0 ? (double)a->count / el : 0;
	bench_add_rate(r, mps);
	bench_add(r, "mbit_per_s", "%.3f", mps * (double)a->size * 8 / 1e6);
	bench_add(r, "elapsed_s", "%.6f", el);
	bench_add(r, "cpu_s", "%.3f", (double)(c1 - c0) / 1e9);
	return BENCH_OK;
sockerr:
	fprintf(stderr, "thr recv libzmq-c: zmq_msg_recv: %s\n", zmq_strerror(zmq_errno()));
fail:
	zmq_msg_close(&msg);
	bench_fail(r, st, i);
	return st;
}

/* thr_send closes monitor and s: the flush (linger) is part of its timed region. */
static enum bench_status thr_send(const struct bench_args *a, void *s, void *monitor, struct bench_result *r)
{
	/* --fill sends libzmq's own buffers: no payload to copy from */
	unsigned char *payload = a->fill ? NULL : calloc((size_t)a->size + 1, 1);
	if (!a->fill && !payload) {
		perror("thr send libzmq-c");
		bench_fail(r, BENCH_ERROR, 0);
		goto drop;
	}
	int64_t t0 = bench_now(), c0 = bench_cpu();
	for (long i = 0; i < a->count; i++) {
		if (a->fill) {
			/* libzmq's remote_thr: the message's own buffer, nothing copied into it */
			zmq_msg_t msg;
			if (zmq_msg_init_size(&msg, (size_t)a->size) < 0) {
				fprintf(stderr, "thr send libzmq-c: zmq_msg_init_size: %s\n", zmq_strerror(zmq_errno()));
				free(payload);
				bench_fail(r, BENCH_ERROR, i);
				goto drop;
			}
			if (a->check)
				bench_put_seq(zmq_msg_data(&msg), (uint64_t)i);
			while (zmq_msg_send(&msg, s, 0) < 0) {
				if (zmq_errno() == EINTR)
					continue;
				fprintf(stderr, "thr send libzmq-c: zmq_msg_send: %s\n", zmq_strerror(zmq_errno()));
				zmq_msg_close(&msg);
				free(payload);
				bench_fail(r, BENCH_ERROR, i);
				goto drop;
			}
			done = i + 1;
			continue;
		}
		if (a->check)
			bench_put_seq(payload, (uint64_t)i);
		while (zmq_send(s, payload, (size_t)a->size, 0) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			fprintf(stderr, "thr send libzmq-c: zmq_send: %s\n", zmq_strerror(zmq_errno()));
			free(payload);
			bench_fail(r, BENCH_ERROR, i);
			goto drop;
		}
		done = i + 1;
	}
	free(payload);
	/* Linger only promises that the messages reach the kernel; waiting until the receiver,
	 * which exits after COUNT messages, hangs up makes "all flushed" mean "all delivered"
	 * (see contract.Socket.WaitPeerGone). */
	/* libzmq's ws engine does not report the peer's hang-up to the monitor: over ws:// close after
	 * linger alone, as the Go tools do. */
	if (!a->no_wait && strncmp(a->endpoint, "ws://", 5) != 0 && bench_wait_peer_gone(monitor) < 0) {
		fprintf(stderr, "thr send libzmq-c: waiting for the receiver to hang up failed\n");
		bench_fail(r, BENCH_ERROR, a->count);
		goto drop;
	}
	zmq_close(monitor);
	int rc = bench_close(s, 1);
	int64_t c1 = bench_cpu(), t1 = bench_now();
	if (rc < 0) {
		bench_fail(r, BENCH_ERROR, a->count);
		return BENCH_ERROR;
	}
	double el = (double)(t1 - t0) / 1e9;
	bench_add(r, "elapsed_s", "%.6f", el);
	bench_add_rate(r, (double)a->count / el);
	bench_add(r, "cpu_s", "%.3f", (double)(c1 - c0) / 1e9);
	return BENCH_OK;
drop:
	zmq_close(monitor);
	bench_close(s, 0);
	return BENCH_ERROR;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct bench_result r = {0};
	if (bench_parse("thr", argc - 1, argv + 1, &a) < 0) {
		r.status = BENCH_ERROR;
		return bench_emit(&a, &r);
	}
	bench_start_watchdog(&a, &done);
	int send = strcmp(a.role, "send") == 0;
	void *ctx = zmq_ctx_new();
	void *s = bench_open(ctx, send ? ZMQ_PUSH : ZMQ_PULL, &a);
	void *monitor = NULL;
	if (s && send && !(monitor = bench_monitor(ctx, s))) {
		bench_close(s, 0);
		s = NULL;
	}
	if (s && bench_attach(s, &a) < 0) {
		if (monitor)
			zmq_close(monitor);
		bench_close(s, 0);
		s = NULL;
	}
	if (!s) {
		r.status = BENCH_ERROR;
		zmq_ctx_term(ctx);
		return bench_emit(&a, &r);
	}
	if (send) {
		r.status = thr_send(&a, s, monitor, &r);
	} else {
		r.status = thr_recv(&a, s, &r);
		if (bench_close(s, r.status == BENCH_OK) < 0)
			r.status = BENCH_ERROR;
	}
	if (zmq_ctx_term(ctx) < 0) {
		fprintf(stderr, "thr %s libzmq-c: zmq_ctx_term: %s\n", a.role, zmq_strerror(zmq_errno()));
		r.status = BENCH_ERROR;
	}
	return bench_emit(&a, &r);
}
