/* lat: the bench contract's REQ/REP latency tool on libzmq's C API (impl=libzmq-c).
 *
 *   lat req|rep bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--warmup N]
 *
 * The loops are those of bench/internal/contract (Go): REQ times each send-then-receive round
 * trip and reports the mean, p50 and p99 (nearest rank) after the warm-up, and avg_oneway_us as
 * libzmq's remote_lat does; REP echoes COUNT requests. As in local_lat, REP sends back the very
 * message it received (no copy), and REQ reuses one zmq_msg_t for the replies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "contract.h"

static volatile long done; /* round trips completed, for the watchdog's done= */

static int recv_msg(zmq_msg_t *msg, void *s)
{
	for (;;) {
		if (zmq_msg_recv(msg, s, 0) >= 0)
			return 0;
		if (zmq_errno() != EINTR)
			return -1;
	}
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static enum bench_status lat_req(const struct bench_args *a, void *s, struct bench_result *r)
{
	unsigned char *payload = calloc((size_t)a->size + 1, 1);
	int64_t *rtts = malloc((size_t)a->count * sizeof *rtts);
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	enum bench_status st = BENCH_ERROR;
	long i = 0;
	if (!payload || !rtts) {
		perror("lat req libzmq-c");
		goto fail;
	}
	/* With room for it, each request carries its number and the reply must echo it: a REP that
	 * answers the wrong request, or a stale reply, would otherwise go unnoticed. */
	int seq = a->size >= 8;
	int64_t t0 = bench_now(), c0 = bench_cpu(), prev = t0;
	for (i = 0; i < a->count; i++) {
		if (seq)
			bench_put_seq(payload, (uint64_t)i);
		while (zmq_send(s, payload, (size_t)a->size, 0) < 0) {
			if (zmq_errno() != EINTR) {
				fprintf(stderr, "lat req libzmq-c: zmq_send: %s\n", zmq_strerror(zmq_errno()));
				goto fail;
			}
		}
		if (recv_msg(&msg, s) < 0) {
			fprintf(stderr, "lat req libzmq-c: zmq_msg_recv: %s\n", zmq_strerror(zmq_errno()));
			goto fail;
		}
		int64_t now = bench_now();
		size_t n = zmq_msg_size(&msg);
		if ((long)n != a->size) {
			fprintf(stderr, "lat req libzmq-c: data check failed: message %ld has %zu bytes, want %ld\n", i,
				n, a->size);
			st = BENCH_CHECK_FAILED;
			goto fail;
		}
		if (seq && bench_get_seq(zmq_msg_data(&msg)) != (uint64_t)i) {
			fprintf(stderr, "lat req libzmq-c: data check failed: message %ld carries sequence number %llu\n",
				i, (unsigned long long)bench_get_seq(zmq_msg_data(&msg)));
			st = BENCH_CHECK_FAILED;
			goto fail;
		}
		rtts[i] = now - prev;
		prev = now;
		done = i + 1;
	}
	int64_t c1 = bench_cpu();
	int64_t total = prev - t0;
	long n = a->count - a->warmup;
	int64_t *m = rtts + a->warmup;
	qsort(m, (size_t)n, sizeof *m, cmp_i64);
	double sum = 0;
	for (long k = 0; k < n; k++)
		sum += (double)m[k];
	bench_add(r, "rtt_mean_us", "%.2f", sum / (double)n / 1e3);
	bench_add(r, "rtt_p50_us", "%.2f", (double)bench_percentile(m, n, 50) / 1e3);
	bench_add(r, "rtt_p99_us", "%.2f", (double)bench_percentile(m, n, 99) / 1e3);
	bench_add(r, "rtt_max_us", "%.2f", (double)m[n - 1] / 1e3);
	bench_add(r, "avg_oneway_us", "%.2f", (double)total / 1e3 / (double)(2 * a->count));
	bench_add(r, "samples", "%ld", n);
	bench_add(r, "warmup", "%ld", a->warmup);
	bench_add(r, "cpu_s", "%.3f", (double)(c1 - c0) / 1e9);
	st = BENCH_OK;
	goto out;
fail:
	bench_fail(r, st, i);
out:
	zmq_msg_close(&msg);
	free(payload);
	free(rtts);
	return st;
}

/* echo receives one request and sends the same message back, returning its size or -1. */
static long echo(void *s, zmq_msg_t *msg)
{
	if (recv_msg(msg, s) < 0) {
		fprintf(stderr, "lat rep libzmq-c: zmq_msg_recv: %s\n", zmq_strerror(zmq_errno()));
		return -1;
	}
	long n = (long)zmq_msg_size(msg);
	while (zmq_msg_send(msg, s, 0) < 0) {
		if (zmq_errno() != EINTR) {
			fprintf(stderr, "lat rep libzmq-c: zmq_msg_send: %s\n", zmq_strerror(zmq_errno()));
			return -1;
		}
	}
	return n;
}

static enum bench_status lat_rep(const struct bench_args *a, void *s, struct bench_result *r)
{
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	enum bench_status st = BENCH_ERROR;
	long i = 0, n = echo(s, &msg);
	if (n < 0)
		goto fail;
	if (n != a->size)
		goto badsize;
	/* The first request may wait for the REQ side to start; time from it on. */
	int64_t t0 = bench_now(), c0 = bench_cpu();
	for (i = 1; i < a->count; i++) {
		done = i;
		if ((n = echo(s, &msg)) < 0)
			goto fail;
		if (n != a->size)
			goto badsize;
	}
	int64_t c1 = bench_cpu(), t1 = bench_now();
	done = a->count;
	bench_add(r, "elapsed_s", "%.6f", (double)(t1 - t0) / 1e9);
	bench_add(r, "cpu_s", "%.3f", (double)(c1 - c0) / 1e9);
	zmq_msg_close(&msg);
	return BENCH_OK;
badsize:
	fprintf(stderr, "lat rep libzmq-c: data check failed: request %ld has %ld bytes, want %ld\n", i, n, a->size);
	st = BENCH_CHECK_FAILED;
fail:
	zmq_msg_close(&msg);
	bench_fail(r, st, i);
	return st;
}

int main(int argc, char **argv)
{
	struct bench_args a;
	struct bench_result r = {0};
	if (bench_parse("lat", argc - 1, argv + 1, &a) < 0) {
		r.status = BENCH_ERROR;
		return bench_emit(&a, &r);
	}
	bench_start_watchdog(&a, &done);
	int req = strcmp(a.role, "req") == 0;
	void *ctx = zmq_ctx_new();
	void *s = bench_open(ctx, req ? ZMQ_REQ : ZMQ_REP, &a);
	if (s && bench_attach(s, &a) < 0) {
		bench_close(s, 0);
		s = NULL;
	}
	if (!s) {
		r.status = BENCH_ERROR;
		zmq_ctx_term(ctx);
		return bench_emit(&a, &r);
	}
	r.status = req ? lat_req(&a, s, &r) : lat_rep(&a, s, &r);
	if (bench_close(s, r.status == BENCH_OK) < 0)
		r.status = BENCH_ERROR;
	if (zmq_ctx_term(ctx) < 0) {
		fprintf(stderr, "lat %s libzmq-c: zmq_ctx_term: %s\n", a.role, zmq_strerror(zmq_errno()));
		r.status = BENCH_ERROR;
	}
	return bench_emit(&a, &r);
}
