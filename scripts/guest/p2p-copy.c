// SPDX-License-Identifier: GPL-2.0
/*
 * p2p-copy: p2pmem-test's scenario, the project's own tool. Data written from system memory
 * to a source NVMe namespace is copied to a destination namespace through a buffer of PCI
 * peer-to-peer memory (a controller's CMB, published by the kernel's P2PDMA layer and
 * mmap'd from /sys/bus/pci/devices/<bdf>/p2pmem/allocate): O_DIRECT reads from the source
 * into the buffer, O_DIRECT writes from the buffer to the destination, so the data never
 * passes through system memory. The destination is read back and every byte compared.
 *
 *	p2p-copy SRC DST ALLOCATE MIB CHUNK THREADS BUFOFF
 *
 * The data is MIB MiB at offset 0 of SRC, copied to offset MIB MiB of DST (SRC and DST may be
 * the same namespace, which then holds 2 * MIB MiB), CHUNK bytes per request; THREADS threads
 * copy every THREADS-th chunk each, thread t through its own CHUNK bytes of the buffer at
 * BUFOFF + t * CHUNK (BUFOFF a multiple of 4096). The CPU never touches the P2P memory.
 * Prints one line on success, "nvmock-init: FAILED: ..." for each error or mismatch; exits
 * with the number of failures (100: bad usage or setup).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_THREADS 16

struct copy {
	int src, dst, threads, t;
	unsigned char *buf;
	size_t size, chunk;
	int failures;
};

/* Thread @c->t: chunks t, t + threads, ... through its own piece of the P2P buffer. */
static void *copy_chunks(void *arg)
{
	struct copy *c = arg;
	size_t i, n = c->size / c->chunk;

	for (i = c->t; i < n; i += c->threads) {
		off_t pos = (off_t)(i * c->chunk);
		ssize_t rc = pread(c->src, c->buf, c->chunk, pos);

		if (rc != (ssize_t)c->chunk) {
			printf("nvmock-init: FAILED: p2p-copy: O_DIRECT read of chunk %zu into P2P memory: %s\n",
			       i, rc < 0 ? strerror(errno) : "short");
			c->failures++;
			break;
		}
		rc = pwrite(c->dst, c->buf, c->chunk, (off_t)c->size + pos);
		if (rc != (ssize_t)c->chunk) {
			printf("nvmock-init: FAILED: p2p-copy: O_DIRECT write of chunk %zu from P2P memory: %s\n",
			       i, rc < 0 ? strerror(errno) : "short");
			c->failures++;
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct copy cp[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	size_t size, chunk, bufoff, maplen, i, bad = 0, first = 0;
	unsigned char *want, *got, *p2p;
	uint64_t x = 0x243f6a8885a308d3ULL;
	int src, dst, p2pfd, threads, t, failures = 0;

	if (argc != 8) {
		fprintf(stderr, "usage: %s SRC DST ALLOCATE MIB CHUNK THREADS BUFOFF\n", argv[0]);
		return 100;
	}
	size = strtoull(argv[4], NULL, 0) << 20;
	chunk = strtoull(argv[5], NULL, 0);
	threads = atoi(argv[6]);
	bufoff = strtoull(argv[7], NULL, 0);
	if (!size || !chunk || chunk % 4096 || size % chunk || threads < 1 ||
	    threads > MAX_THREADS || bufoff % 4096) {
		fprintf(stderr, "p2p-copy: MIB > 0, CHUNK a multiple of 4096 dividing it, 1 to %d threads, BUFOFF a multiple of 4096\n",
			MAX_THREADS);
		return 100;
	}
	src = open(argv[1], O_RDWR | O_DIRECT);
	dst = open(argv[2], O_RDWR | O_DIRECT);
	p2pfd = open(argv[3], O_RDWR);
	if (src < 0 || dst < 0 || p2pfd < 0) {
		printf("nvmock-init: FAILED: p2p-copy: cannot open %s, %s or %s: %s\n", argv[1],
		       argv[2], argv[3], strerror(errno));
		return 100;
	}
	maplen = bufoff + threads * chunk;
	p2p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, p2pfd, 0);
	if (p2p == MAP_FAILED) {
		printf("nvmock-init: FAILED: p2p-copy: mmap of %zu bytes of %s: %s\n", maplen, argv[3],
		       strerror(errno));
		return 100;
	}
	if (posix_memalign((void **)&want, 1 << 20, size) || posix_memalign((void **)&got, 1 << 20, size)) {
		printf("nvmock-init: FAILED: p2p-copy: out of memory\n");
		return 100;
	}
	for (i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		want[i] = (unsigned char)(x >> 24) ^ (unsigned char)chunk;
	}
	memset(got, 0, size);
	/* The source's data, and a destination that does not hold it yet. */
	if (pwrite(src, want, size, 0) != (ssize_t)size || pwrite(dst, got, size, size) != (ssize_t)size) {
		printf("nvmock-init: FAILED: p2p-copy: preparing %s and %s: %s\n", argv[1], argv[2],
		       strerror(errno));
		return 100;
	}
	for (t = 0; t < threads; t++) {
		cp[t] = (struct copy){ .src = src, .dst = dst, .threads = threads, .t = t,
				       .buf = p2p + bufoff + t * chunk, .size = size, .chunk = chunk };
		if (pthread_create(&tid[t], NULL, copy_chunks, &cp[t])) {
			printf("nvmock-init: FAILED: p2p-copy: pthread_create\n");
			return 100;
		}
	}
	for (t = 0; t < threads; t++) {
		pthread_join(tid[t], NULL);
		failures += cp[t].failures;
	}
	if (pread(dst, got, size, size) != (ssize_t)size) {
		printf("nvmock-init: FAILED: p2p-copy: reading %s back: %s\n", argv[2], strerror(errno));
		return failures + 1;
	}
	for (i = 0; i < size; i++) {
		if (got[i] != want[i] && !bad++)
			first = i;
	}
	if (bad) {
		printf("nvmock-init: FAILED: p2p-copy: %zu of %zu bytes differ on %s, the first at %zu\n",
		       bad, size, argv[2], first);
		failures++;
	}
	if (!failures)
		printf("p2p-copy: %s -> P2P memory -> %s: %zu bytes in %zu-byte chunks, %d threads, buffer offset %zu: every byte matches\n",
		       argv[1], argv[2], size, chunk, threads, bufoff);
	munmap(p2p, maplen);
	return failures;
}
