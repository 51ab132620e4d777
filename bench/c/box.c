/* box: the CURVE cipher alone, as libzmq's CURVE uses it: libsodium's crypto_box_easy_afternm and
 * crypto_box_open_easy_afternm (XSalsa20-Poly1305 with a precomputed key) on one message body, in
 * a loop, no I/O. cmd/boxbench runs it beside golang.org/x/crypto's box, which zloop's CURVE uses,
 * so that a CURVE throughput result can be read against what its cipher alone allows.
 *
 *   box SIZE ITERS
 *
 * prints one line: "seal_ns=<ns per seal> open_ns=<ns per open>" (the fastest of 3 passes). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: box SIZE ITERS\n");
		return 2;
	}
	long size = atol(argv[1]), iters = atol(argv[2]);
	if (size < 0 || size > (1L << 30) || iters <= 0) {
		fprintf(stderr, "box: bad SIZE or ITERS\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "box: sodium_init failed\n");
		return 1;
	}
	unsigned char *plain = calloc((size_t)size + 1, 1);
	unsigned char *boxed = calloc((size_t)size + crypto_box_MACBYTES + 1, 1);
	unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	unsigned char shared[crypto_box_BEFORENMBYTES], nonce[crypto_box_NONCEBYTES] = {0};
	if (plain == NULL || boxed == NULL) {
		fprintf(stderr, "box: out of memory\n");
		return 1;
	}
	crypto_box_keypair(pk, sk);
	if (crypto_box_beforenm(shared, pk, sk) != 0)
		return 1;
	double seal = 0, open = 0;
	for (int pass = 0; pass < 3; pass++) {
		double t = now_ns();
		for (long i = 0; i < iters; i++) {
			nonce[23] = (unsigned char)i; /* a new nonce each time, as CURVE's MESSAGEs */
			crypto_box_easy_afternm(boxed, plain, (unsigned long long)size, nonce, shared);
		}
		double s = (now_ns() - t) / (double)iters;
		t = now_ns();
		for (long i = 0; i < iters; i++) {
			if (crypto_box_open_easy_afternm(plain, boxed, (unsigned long long)size + crypto_box_MACBYTES,
							 nonce, shared) != 0) {
				fprintf(stderr, "box: open failed\n");
				return 1;
			}
		}
		double o = (now_ns() - t) / (double)iters;
		if (pass == 0 || s < seal)
			seal = s;
		if (pass == 0 || o < open)
			open = o;
	}
	printf("seal_ns=%.0f open_ns=%.0f\n", seal, open);
	free(plain);
	free(boxed);
	return 0;
}
