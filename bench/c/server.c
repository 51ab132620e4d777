/* server: the libzmq side of the swarm benchmark (bench/CONTRACT.md, "swarm servers"), with the
 * command line of bench/cmd/zloop/server:
 *
 *   server idle|pub|router-echo|router-serve ENDPOINT [--size BYTES] [--loops N] [--backlog N]
 *          [--heartbeat MS] [--heartbeat-timeout MS]
 *
 * idle binds a ROUTER and holds its connections; pub binds a PUB and, once a line arrives on
 * stdin, sends SIZE-byte messages with zmq_send as fast as it can; router-echo binds a ROUTER and
 * sends every frame back with zmq_msg_recv/zmq_msg_send (the routing frame first, so the reply
 * finds its peer); router-serve is router-echo here (libzmq has no handler API: the case compares
 * zloop's handler API with libzmq's ROUTER). It prints READY once it listens and runs until SIGTERM or SIGINT (exit 0).
 * --loops is ZMQ_IO_THREADS (default 1); --heartbeat ZMQ_HEARTBEAT_IVL and --heartbeat-timeout
 * ZMQ_HEARTBEAT_TIMEOUT (ms; 0, the default, leaves the option alone); library defaults otherwise
 * (SNDHWM 1000), LINGER 0. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(const char *why)
{
	fprintf(stderr, "server libzmq-c: %s\nusage: server idle|pub|router-echo|router-serve ENDPOINT [--size BYTES] [--loops N] [--backlog N] [--heartbeat MS] [--heartbeat-timeout MS]\n", why);
	return 1;
}

/* stdin_ready waits up to ms for a line on stdin; 1 when one arrived, 0 on timeout, -1 at EOF. */
static int stdin_ready(int ms)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int rc = poll(&p, 1, ms);
	if (rc <= 0)
		return 0;
	char buf[256];
	ssize_t n = read(0, buf, sizeof buf);
	return n > 0 ? 1 : -1;
}

int main(int argc, char **argv)
{
	const char *pos[2];
	int npos = 0, size = 64, loops = 1, backlog = -1, hb_ivl = 0, hb_timeout = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == 0) {
			if (npos == 2)
				return usage("too many arguments");
			pos[npos++] = a;
			continue;
		}
		while (*a == '-')
			a++;
		char name[32];
		const char *val = strchr(a, '=');
		size_t len = val ? (size_t)(val - a) : strlen(a);
		if (len >= sizeof name)
			return usage("unknown flag");
		memcpy(name, a, len);
		name[len] = 0;
		if (val)
			val++;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage("a flag needs a value");
		char *end;
		long n = strtol(val, &end, 10);
		if (*val == 0 || *end != 0 || n < 0 || n > 1 << 30)
			return usage("bad flag value");
		if (!strcmp(name, "size"))
			size = (int)n;
		else if (!strcmp(name, "loops"))
			loops = n < 1 ? 1 : (int)n;
		else if (!strcmp(name, "backlog"))
			backlog = (int)n;
		else if (!strcmp(name, "heartbeat"))
			hb_ivl = (int)n;
		else if (!strcmp(name, "heartbeat-timeout"))
			hb_timeout = (int)n;
		else
			return usage("unknown flag");
	}
	if (npos != 2)
		return usage("want idle|pub|router-echo|router-serve ENDPOINT");
	int mode;
	if (!strcmp(pos[0], "idle"))
		mode = 0;
	else if (!strcmp(pos[0], "pub"))
		mode = 1;
	else if (!strcmp(pos[0], "router-echo") || !strcmp(pos[0], "router-serve"))
		mode = 2;
	else
		return usage("mode is not idle, pub, router-echo or router-serve");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	void *ctx = zmq_ctx_new();
	zmq_ctx_set(ctx, ZMQ_IO_THREADS, loops);
	void *s = zmq_socket(ctx, mode == 1 ? ZMQ_PUB : ZMQ_ROUTER);
	int linger = 0, wake_ms = 100;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &wake_ms, sizeof wake_ms);
	if (backlog > 0)
		zmq_setsockopt(s, ZMQ_BACKLOG, &backlog, sizeof backlog);
	if (hb_ivl > 0)
		zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
	if (hb_timeout > 0)
		zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
	if (zmq_bind(s, pos[1]) < 0) {
		fprintf(stderr, "server libzmq-c: bind %s: %s\n", pos[1], zmq_strerror(zmq_errno()));
		zmq_close(s);
		zmq_ctx_term(ctx);
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	int rc = 0;
	if (mode == 0) {
		while (!stop)
			pause();
	} else if (mode == 1) {
		int got = 0;
		while (!stop && got == 0)
			got = stdin_ready(100);
		char *body = calloc(1, size > 0 ? (size_t)size : 1);
		/* PUB never blocks (it drops at SNDHWM), so the flag is seen between sends. */
		while (!stop && got == 1) {
			if (zmq_send(s, body, (size_t)size, 0) < 0 && zmq_errno() != EINTR && zmq_errno() != EAGAIN) {
				fprintf(stderr, "server libzmq-c: send: %s\n", zmq_strerror(zmq_errno()));
				rc = 1;
				break;
			}
		}
		free(body);
	} else {
		zmq_msg_t f;
		while (!stop) {
			zmq_msg_init(&f);
			if (zmq_msg_recv(&f, s, 0) < 0) {
				zmq_msg_close(&f);
				if (zmq_errno() == EINTR || zmq_errno() == EAGAIN)
					continue;
				fprintf(stderr, "server libzmq-c: recv: %s\n", zmq_strerror(zmq_errno()));
				rc = 1;
				break;
			}
			int more = zmq_msg_more(&f);
			if (zmq_msg_send(&f, s, more ? ZMQ_SNDMORE : 0) < 0) {
				zmq_msg_close(&f);
				if (zmq_errno() == EINTR)
					continue;
				/* a full or vanished peer: ROUTER drops, as the zloop server's does */
				if (zmq_errno() != EAGAIN && zmq_errno() != EHOSTUNREACH) {
					fprintf(stderr, "server libzmq-c: send: %s\n", zmq_strerror(zmq_errno()));
					rc = 1;
					break;
				}
			}
		}
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}
