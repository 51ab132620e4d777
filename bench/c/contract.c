/* See contract.h. */
#define _GNU_SOURCE
#include "contract.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const char *usage(const char *tool)
{
	if (strcmp(tool, "lat") == 0)
		return "usage: lat req|rep bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--warmup N] [--curve]";
	return "usage: thr send|recv bind|connect ENDPOINT SIZE COUNT [--timeout SEC] [--hwm N] [--check] [--no-wait] [--fill] [--curve]";
}

/* parse_int is Go's strconv.Atoi: an optional sign, then decimal digits only, within int64. */
static int parse_int(const char *s, long *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (*p == 0)
		return -1;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno != 0)
		return -1;
	*out = v;
	return 0;
}

/* parse_bool is Go's strconv.ParseBool. */
static int parse_bool(const char *s, int *out)
{
	static const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *no[] = {"0", "f", "F", "FALSE", "false", "False"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int usage_error(const char *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *tool, const char *fmt, ...)
{
	va_list ap;
	fputs("zmq: bench: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\n", usage(tool));
	return -1;
}

int bench_parse(const char *tool, int argc, char **argv, struct bench_args *a)
{
	memset(a, 0, sizeof *a);
	a->tool = tool;
	a->role = "";
	a->endpoint = "";
	a->timeout_s = 60;
	a->hwm = -1;
	a->warmup = -1;
	int is_thr = strcmp(tool, "thr") == 0, is_lat = strcmp(tool, "lat") == 0;
	if (!is_thr && !is_lat)
		return usage_error(tool, "unknown tool \"%s\"", tool);

	const char *pos[5];
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (strlen(arg) < 2 || arg[0] != '-') {
			if (npos < 5)
				pos[npos] = arg;
			npos++;
			continue;
		}
		char name[64];
		const char *n = arg;
		while (*n == '-')
			n++;
		const char *eq = strchr(n, '=');
		const char *value = NULL;
		size_t len = eq ? (size_t)(eq - n) : strlen(n);
		if (len >= sizeof name)
			return usage_error(tool, "unknown flag \"%s\" for %s", arg, tool);
		memcpy(name, n, len);
		name[len] = 0;
		if (eq)
			value = eq + 1;
		int takes_value = strcmp(name, "timeout") == 0 || strcmp(name, "hwm") == 0 ||
				  (is_lat && strcmp(name, "warmup") == 0);
		if (takes_value && !value) {
			if (i + 1 >= argc)
				return usage_error(tool, "--%s needs a value", name);
			value = argv[++i];
		}
		if (is_thr && strcmp(name, "check") == 0) {
			if (value && parse_bool(value, &a->check) < 0)
				return usage_error(tool, "--check=\"%s\"", value);
			if (!value)
				a->check = 1;
		} else if (is_thr && strcmp(name, "no-wait") == 0 && !value) {
			a->no_wait = 1;
		} else if (is_thr && strcmp(name, "fill") == 0 && !value) {
			a->fill = 1;
		} else if (strcmp(name, "curve") == 0 && !value) {
			a->curve = 1;
		} else if (strcmp(name, "timeout") == 0) {
			char *end;
			errno = 0;
			double sec = strtod(value, &end);
			if (*value == 0 || *end != 0 || errno != 0 || !(sec > 0) || sec > 1e6 || isspace((unsigned char)value[0]))
				return usage_error(tool, "--timeout \"%s\" is not a positive number of seconds", value);
			a->timeout_s = sec;
		} else if (takes_value) { /* hwm, warmup */
			long v;
			if (parse_int(value, &v) < 0 || v < 0)
				return usage_error(tool, "--%s \"%s\" is not a non-negative integer", name, value);
			if (strcmp(name, "hwm") == 0)
				a->hwm = v;
			else
				a->warmup = v;
		} else {
			return usage_error(tool, "unknown flag \"%s\" for %s", arg, tool);
		}
	}
	if (npos > 0)
		a->role = pos[0]; /* for the RESULT line, even when something else is wrong */
	if (npos != 5)
		return usage_error(tool, "want 5 arguments, got %d", npos);
	int role_ok = is_thr ? strcmp(a->role, "send") == 0 || strcmp(a->role, "recv") == 0
			     : strcmp(a->role, "req") == 0 || strcmp(a->role, "rep") == 0;
	if (!role_ok)
		return usage_error(tool, "role \"%s\" is not one of %s's", a->role, tool);
	if (strcmp(pos[1], "bind") == 0)
		a->bind = 1;
	else if (strcmp(pos[1], "connect") != 0)
		return usage_error(tool, "\"%s\" is neither bind nor connect", pos[1]);
	a->endpoint = pos[2];
	if (!strstr(a->endpoint, "://"))
		return usage_error(tool, "endpoint \"%s\" has no transport", a->endpoint);
	long v;
	if (parse_int(pos[3], &v) < 0 || v < 0 || v > BENCH_MAX_SIZE)
		return usage_error(tool, "SIZE \"%s\" is not in 0..%d", pos[3], BENCH_MAX_SIZE);
	a->size = v;
	if (parse_int(pos[4], &v) < 0 || v < 1)
		return usage_error(tool, "COUNT \"%s\" is not a positive integer", pos[4]);
	a->count = v;
	if (a->check && a->size < 8)
		return usage_error(tool, "--check needs SIZE >= 8 for the sequence number");
	if (is_lat) {
		if (a->warmup < 0)
			a->warmup = a->count / 20 < 1000 ? a->count / 20 : 1000;
		else if (a->warmup >= a->count)
			return usage_error(tool, "--warmup %ld leaves no round trip of %ld to measure", a->warmup,
					   a->count);
	} else {
		a->warmup = 0;
	}
	return 0;
}

void bench_add(struct bench_result *r, const char *key, const char *fmt, ...)
{
	if (r->nfigures >= BENCH_MAX_FIGURES)
		return;
	struct bench_figure *f = &r->figures[r->nfigures++];
	snprintf(f->key, sizeof f->key, "%s", key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof f->value, fmt, ap);
	va_end(ap);
}

void bench_add_rate(struct bench_result *r, double msg_per_s)
{
	if (msg_per_s < 1000)
		bench_add(r, "msg_per_s", "%.3f", msg_per_s);
	else
		bench_add(r, "msg_per_s", "%.0f", msg_per_s);
}

void bench_fail(struct bench_result *r, enum bench_status status, long done)
{
	r->status = status;
	r->nfigures = 0;
	bench_add(r, "done", "%ld", done);
}

static const char *status_name(enum bench_status s)
{
	switch (s) {
	case BENCH_OK:
		return "ok";
	case BENCH_TIMEOUT:
		return "timeout";
	case BENCH_CHECK_FAILED:
		return "check_failed";
	default:
		return "error";
	}
}

static int exit_code(enum bench_status s)
{
	switch (s) {
	case BENCH_OK:
		return 0;
	case BENCH_CHECK_FAILED:
		return 2;
	case BENCH_TIMEOUT:
		return 3;
	default:
		return 1;
	}
}

/* put_clean writes key=value as contract.Result.String does: an empty value becomes "-", and
 * '=', whitespace and control characters become '_', so that the line stays parseable. */
static void put_clean(FILE *f, const char *key, const char *value)
{
	fputc(' ', f);
	for (const char *p = key; *p; p++)
		fputc((unsigned char)*p <= ' ' || *p == '=' || *p == 0x7f ? '_' : *p, f);
	fputc('=', f);
	if (*value == 0)
		fputc('-', f);
	for (const char *p = value; *p; p++)
		fputc((unsigned char)*p <= ' ' || *p == '=' || *p == 0x7f ? '_' : *p, f);
}

static pthread_mutex_t emit_mu = PTHREAD_MUTEX_INITIALIZER;
static int emitted;

/* emit prints the line and reports whether this call was the one that printed. */
static int emit(const struct bench_args *a, const struct bench_result *r)
{
	pthread_mutex_lock(&emit_mu);
	int first = !emitted;
	if (first) {
		emitted = 1;
		char num[32];
		fputs("RESULT", stdout);
		put_clean(stdout, "status", status_name(r->status));
		put_clean(stdout, "tool", a->tool);
		put_clean(stdout, "role", a->role);
		put_clean(stdout, "impl", BENCH_IMPL);
		snprintf(num, sizeof num, "%ld", a->size);
		put_clean(stdout, "size", num);
		snprintf(num, sizeof num, "%ld", a->count);
		put_clean(stdout, "count", num);
		for (int i = 0; i < r->nfigures; i++)
			put_clean(stdout, r->figures[i].key, r->figures[i].value);
		fputc('\n', stdout);
		fflush(stdout);
	}
	pthread_mutex_unlock(&emit_mu);
	return first;
}

int bench_emit(const struct bench_args *a, const struct bench_result *r)
{
	emit(a, r);
	return exit_code(r->status);
}

struct watchdog {
	const struct bench_args *args;
	const volatile long *done;
	struct timespec deadline;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->deadline, NULL) == EINTR) {
	}
	fprintf(stderr, "%s %s: process deadline of %gs passed\n", w->args->tool, w->args->role, w->args->timeout_s);
	struct bench_result r = {0};
	bench_fail(&r, BENCH_TIMEOUT, *w->done);
	/* If main printed first it is on its way out; exiting here could cut its cleanup short. */
	if (emit(w->args, &r))
		_exit(exit_code(BENCH_TIMEOUT));
	return NULL;
}

void bench_start_watchdog(const struct bench_args *args, const volatile long *done)
{
	static struct watchdog w;
	w.args = args;
	w.done = done;
	clock_gettime(CLOCK_MONOTONIC, &w.deadline);
	double whole = floor(args->timeout_s);
	w.deadline.tv_sec += (time_t)whole;
	w.deadline.tv_nsec += (long)((args->timeout_s - whole) * 1e9);
	if (w.deadline.tv_nsec >= 1000000000L) {
		w.deadline.tv_sec++;
		w.deadline.tv_nsec -= 1000000000L;
	}
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, watchdog_main, &w) != 0) {
		perror("watchdog");
		exit(1);
	}
	pthread_attr_destroy(&attr);
}

int64_t bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t bench_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

int64_t bench_percentile(const int64_t *sorted, long n, double p)
{
	if (n == 0)
		return 0;
	/* Rounding first keeps 0.99*100 (=98.99999...) from landing one rank low. */
	long rank = (long)ceil(round(p / 100 * (double)n * 1e9) / 1e9);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void bench_put_seq(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t bench_get_seq(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int zfail(const char *what)
{
	fprintf(stderr, "libzmq-c: %s: %s\n", what, zmq_strerror(zmq_errno()));
	return -1;
}

/* The contract's CURVE keys (bench/CONTRACT.md): libzmq's own test keys, in Z85. */
static const char curve_server_secret[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
static const char curve_client_secret[] = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

/* bench_curve makes s a CURVE server (the binding side) or client with the contract's keys; the
 * public keys are derived with zmq_curve_public, the server's as the client must know it. */
static int bench_curve(void *s, int server)
{
	char server_public[41], client_public[41];
	if (zmq_curve_public(server_public, curve_server_secret) < 0 ||
	    zmq_curve_public(client_public, curve_client_secret) < 0)
		return zfail("zmq_curve_public");
	if (server) {
		int on = 1;
		if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on) < 0 ||
		    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, server_public, 40) < 0 ||
		    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_server_secret, 40) < 0)
			return zfail("zmq_setsockopt(CURVE server)");
		return 0;
	}
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_public, 40) < 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, client_public, 40) < 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, curve_client_secret, 40) < 0)
		return zfail("zmq_setsockopt(CURVE client)");
	return 0;
}

void *bench_open(void *ctx, int type, const struct bench_args *a)
{
	void *s = zmq_socket(ctx, type);
	if (!s) {
		zfail("zmq_socket");
		return NULL;
	}
	int linger = -1;
	if (a->hwm >= 0) {
		int hwm = (int)a->hwm;
		if (zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
		    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0) {
			zfail("zmq_setsockopt(HWM)");
			goto fail;
		}
	}
	if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) < 0) {
		zfail("zmq_setsockopt(LINGER)");
		goto fail;
	}
	if (a->curve && bench_curve(s, a->bind) < 0)
		goto fail;
	return s;
fail:
	bench_close(s, 0);
	return NULL;
}

int bench_attach(void *s, const struct bench_args *a)
{
	if (a->bind ? zmq_bind(s, a->endpoint) < 0 : zmq_connect(s, a->endpoint) < 0)
		return zfail(a->bind ? "zmq_bind" : "zmq_connect");
	return 0;
}

int bench_close(void *s, int flush)
{
	if (!flush) {
		int zero = 0;
		zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	}
	if (zmq_close(s) < 0)
		return zfail("zmq_close");
	return 0;
}

void *bench_monitor(void *ctx, void *s)
{
	/* The PAIR must be connected before the socket's first connection: libzmq drops events
	 * that have nowhere to go. */
	char addr[64];
	snprintf(addr, sizeof addr, "inproc://bench-monitor-%p", s);
	if (zmq_socket_monitor(s, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) < 0) {
		zfail("zmq_socket_monitor");
		return NULL;
	}
	void *m = zmq_socket(ctx, ZMQ_PAIR);
	if (!m) {
		zfail("zmq_socket(PAIR)");
		return NULL;
	}
	int zero = 0;
	zmq_setsockopt(m, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_connect(m, addr) < 0) {
		zfail("zmq_connect(monitor)");
		zmq_close(m);
		return NULL;
	}
	return m;
}

int bench_wait_peer_gone(void *m)
{
	long up = 0, handshakes = 0;
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	while (handshakes == 0 || up > 0) {
		/* An event is two frames: 2 bytes of event number and 4 of value, then the endpoint. */
		if (zmq_msg_recv(&msg, m, 0) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			zmq_msg_close(&msg);
			return zfail("monitor");
		}
		uint16_t event = 0;
		if (zmq_msg_size(&msg) >= 2)
			memcpy(&event, zmq_msg_data(&msg), 2);
		while (zmq_msg_more(&msg))
			if (zmq_msg_recv(&msg, m, 0) < 0 && zmq_errno() != EINTR) {
				zmq_msg_close(&msg);
				return zfail("monitor");
			}
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			up++;
			handshakes++;
		} else if (event == ZMQ_EVENT_DISCONNECTED && up > 0) {
			up--;
		}
	}
	zmq_msg_close(&msg);
	return 0;
}
