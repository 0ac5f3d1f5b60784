// SPDX-License-Identifier: GPL-2.0
/*
 * dax-dio: device memory as the target and the source of DMA (the iopmem scenario). A file on
 * a file system mounted -o dax over an emulated PMEM namespace in fsdax mode is mapped with
 * MAP_SYNC, which the kernel refuses unless the mapping is DAX (the file's pages are the
 * namespace's own ZONE_DEVICE pages). O_DIRECT reads from an emulated NVMe namespace then land
 * in that mapping (the controller writes PMEM), and O_DIRECT writes from it go back to the
 * NVMe namespace (the controller reads PMEM). Every byte is compared, for several chunk sizes
 * and offsets into the mapping; at the end the file is read back through the file system.
 *
 *	dax-dio FILE BLOCKDEV MIB
 *
 * FILE is created (MIB MiB) on the DAX file system; BLOCKDEV must hold MIB MiB. Prints the
 * physical address behind the mapping's first page ("dax-dio: phys 0x..."), one line per pass,
 * and "nvmock-init: FAILED: ..." for every error or mismatch; exits with the number of
 * failures (100: bad usage or setup).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

static int failures;

static void fail(const char *fmt, const char *what, long long a, long long b)
{
	printf("nvmock-init: FAILED: dax-dio: ");
	printf(fmt, what, a, b);
	printf("\n");
	failures++;
}

/* A deterministic byte stream for @seed (xorshift64). */
static void pattern(unsigned char *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* Counts the bytes where @got differs from @want; reports the first. */
static size_t compare(const char *what, const unsigned char *got, const unsigned char *want,
		      size_t len)
{
	size_t i, bad = 0, first = 0;

	for (i = 0; i < len; i++) {
		if (got[i] != want[i]) {
			if (!bad++)
				first = i;
		}
	}
	if (bad)
		fail("%s: %lld bytes differ, the first at offset %lld", what, (long long)bad,
		     (long long)first);
	return bad;
}

/* Moves @len bytes between @mem and the device at @pos in @chunk pieces, O_DIRECT. */
static int dio(int fd, int write, unsigned char *mem, size_t len, size_t chunk, off_t pos,
	       const char *what)
{
	size_t done;

	for (done = 0; done < len; done += chunk) {
		size_t n = len - done < chunk ? len - done : chunk;
		ssize_t rc = write ? pwrite(fd, mem + done, n, pos + done) :
				     pread(fd, mem + done, n, pos + done);

		if (rc != (ssize_t)n) {
			fail("%s at %lld: %lld", what, (long long)(pos + done),
			     rc < 0 ? -(long long)errno : (long long)rc);
			return -1;
		}
	}
	return 0;
}

/* The physical address behind @addr (from /proc/self/pagemap; 0 if not present). */
static unsigned long long phys_of(const void *addr)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / page * sizeof(e)) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e >> 63 & 1))
		return 0;
	return (e & ((1ULL << 55) - 1)) * page + (uintptr_t)addr % page;
}

int main(int argc, char **argv)
{
	static const size_t chunks[] = { 4096, 64 << 10, 1 << 20, 2 << 20 };
	static const size_t offsets[] = { 0, 3 * 4096, 2 << 20 };
	unsigned char *map, *sys, *shadow;
	size_t size, c, o;
	struct statx stx;
	int fd, dev, pass = 0;

	if (argc != 4 || !(size = strtoull(argv[3], NULL, 0) << 20)) {
		fprintf(stderr, "usage: %s FILE BLOCKDEV MIB\n", argv[0]);
		return 100;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	dev = open(argv[2], O_RDWR | O_DIRECT);
	if (fd < 0 || dev < 0) {
		printf("nvmock-init: FAILED: dax-dio: cannot open %s or %s: %s\n", argv[1], argv[2],
		       strerror(errno));
		return 100;
	}
	if (fallocate(fd, 0, 0, size)) {
		printf("nvmock-init: FAILED: dax-dio: fallocate %s: %s\n", argv[1], strerror(errno));
		return 100;
	}
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) ||
	    !(stx.stx_attributes_mask & STATX_ATTR_DAX) || !(stx.stx_attributes & STATX_ATTR_DAX)) {
		printf("nvmock-init: FAILED: dax-dio: %s is not a DAX file (statx)\n", argv[1]);
		return 100;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	if (map == MAP_FAILED) {
		printf("nvmock-init: FAILED: dax-dio: mmap MAP_SYNC of %s: %s\n", argv[1],
		       strerror(errno));
		return 100;
	}
	if (posix_memalign((void **)&sys, 1 << 20, size) || !(shadow = malloc(size))) {
		printf("nvmock-init: FAILED: dax-dio: out of memory\n");
		return 100;
	}
	memset(map, 0, size);
	memset(shadow, 0, size);
	printf("dax-dio: %s mapped MAP_SYNC, phys %#llx\n", argv[1], phys_of(map));

	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		for (o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++) {
			size_t chunk = chunks[c], off = offsets[o];
			size_t len = (size - off) / chunk * chunk;
			char what[96];

			if (off >= size || !len)
				continue;
			pass++;
			/* NVMe -> PMEM: the controller writes the file's pages. */
			pattern(sys, len, 2 * pass);
			snprintf(what, sizeof(what), "write %s from memory", argv[2]);
			if (dio(dev, 1, sys, len, 1 << 20, 0, what))
				continue;
			snprintf(what, sizeof(what), "O_DIRECT read into the DAX mapping (chunk %zu, offset %zu)",
				 chunk, off);
			if (dio(dev, 0, map + off, len, chunk, 0, what))
				continue;
			memcpy(shadow + off, sys, len);
			compare(what, map, shadow, size);
			/* PMEM -> NVMe: the controller reads the file's pages. */
			pattern(map + off, len, 2 * pass + 1);
			memcpy(shadow + off, map + off, len);
			snprintf(what, sizeof(what), "O_DIRECT write from the DAX mapping (chunk %zu, offset %zu)",
				 chunk, off);
			if (dio(dev, 1, map + off, len, chunk, 0, what))
				continue;
			memset(sys, 0, len);
			snprintf(what, sizeof(what), "read %s back", argv[2]);
			if (dio(dev, 0, sys, len, 1 << 20, 0, what))
				continue;
			if (!compare(what, sys, shadow + off, len))
				printf("dax-dio: chunk %zu, offset %zu: %zu bytes NVMe -> PMEM -> NVMe, every byte as written\n",
				       chunk, off, len);
		}
	}
	munmap(map, size);
	/* What the mapping held is the file's data, through the file system. */
	memset(sys, 0, size);
	if (pread(fd, sys, size, 0) != (ssize_t)size)
		fail("%s: read through the file system: %lld %lld", argv[1], -(long long)errno, 0);
	else if (!compare("the file read back through the file system", sys, shadow, size))
		printf("dax-dio: %s: %zu bytes read back through the file system intact\n", argv[1],
		       size);
	close(fd);
	close(dev);
	printf("dax-dio: %d passes, %d failures\n", pass, failures);
	return failures;
}
