/* echo: a ROUTER that sends every message back to the peer it came from, frame by frame and
 * without copying (zmq_msg_send hands the received frame back to libzmq), for bench/cmd/echorss,
 * which reads this process's peak RSS while a client sends it large messages.
 *
 *   echo ENDPOINT
 *
 * It binds ENDPOINT, prints "READY" on stdout once it listens, and echoes until SIGTERM or
 * SIGINT (exit 0). Library defaults everywhere (HWM 1000, no MAXMSGSIZE), LINGER 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: echo ENDPOINT\n");
		return 1;
	}
	/* The flag alone would race: a signal that lands between the check of stop and libzmq's
	 * poll leaves the recv blocked for good. So the recv also wakes every 100 ms (RCVTIMEO) to
	 * look at it; EINTR ends the wait sooner when the signal lands inside the poll. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_ROUTER);
	int linger = 0, wake_ms = 100;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &wake_ms, sizeof wake_ms);
	if (zmq_bind(s, argv[1]) < 0) {
		fprintf(stderr, "echo libzmq-c: bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
		zmq_close(s);
		zmq_ctx_term(ctx);
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	int rc = 0;
	zmq_msg_t f;
	while (!stop) {
		zmq_msg_init(&f);
		if (zmq_msg_recv(&f, s, 0) < 0) {
			zmq_msg_close(&f);
			if (zmq_errno() == EINTR || zmq_errno() == EAGAIN)
				continue;
			fprintf(stderr, "echo libzmq-c: recv: %s\n", zmq_strerror(zmq_errno()));
			rc = 1;
			break;
		}
		/* The routing id comes first and goes back first, so the reply finds its peer. */
		int more = zmq_msg_more(&f);
		while (zmq_msg_send(&f, s, more ? ZMQ_SNDMORE : 0) < 0) {
			if (zmq_errno() == EINTR && !stop)
				continue;
			zmq_msg_close(&f);
			if (zmq_errno() != EINTR) {
				fprintf(stderr, "echo libzmq-c: send: %s\n", zmq_strerror(zmq_errno()));
				rc = 1;
			}
			stop = 1;
			break;
		}
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}
