// SPDX-License-Identifier: GPL-2.0
/*
 * nvme-passthru: raw NVMe commands through the kernel's passthrough ioctls, checked against
 * the status a controller must return. Run by the test system's init against an emulated
 * controller:
 *
 *	nvme-passthru /dev/nvmeX /dev/nvmeXnY BLOCKS
 *
 * BLOCKS is the namespace's capacity in logical blocks. Prints one line per case and exits
 * with the number of cases that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Status Code Type (bits 10:8) and Status Code (7:0) of a completion, as ioctl returns them. */
#define STATUS(sct, sc)	((sct) << 8 | (sc))
#define STATUS_MASK	0x7ff

static int failures;

static void check(const char *what, int fd, unsigned long req, struct nvme_passthru_cmd *cmd,
		  int expect)
{
	int rc = ioctl(fd, req, cmd);

	if (rc < 0) {
		printf("nvmock-init: FAILED: passthru %s: ioctl: %s\n", what, strerror(errno));
		failures++;
	} else if ((rc & STATUS_MASK) != expect) {
		printf("nvmock-init: FAILED: passthru %s: status %#x, expected %#x\n", what,
		       rc & STATUS_MASK, expect);
		failures++;
	} else {
		printf("nvme-passthru: %s: status %#x as expected\n", what, expect);
	}
}

int main(int argc, char **argv)
{
	static unsigned char buf[4096] __attribute__((aligned(4096)));
	struct nvme_passthru_cmd c;
	unsigned long long blocks;
	int ctrl, ns;

	if (argc != 4) {
		fprintf(stderr, "usage: %s /dev/nvmeX /dev/nvmeXnY BLOCKS\n", argv[0]);
		return 100;
	}
	ctrl = open(argv[1], O_RDWR);
	ns = open(argv[2], O_RDWR);
	blocks = strtoull(argv[3], NULL, 0);
	if (ctrl < 0 || ns < 0 || !blocks) {
		printf("nvmock-init: FAILED: passthru: cannot open %s or %s\n", argv[1], argv[2]);
		return 100;
	}

	memset(&c, 0, sizeof(c));
	c.opcode = 0x06;		/* Identify Controller */
	c.cdw10 = 1;
	c.addr = (unsigned long)buf;
	c.data_len = sizeof(buf);
	check("identify controller", ctrl, NVME_IOCTL_ADMIN_CMD, &c, 0);
	if (memcmp(buf + 4, "NVMOCK", 6)) {
		printf("nvmock-init: FAILED: passthru identify: serial '%.20s'\n", buf + 4);
		failures++;
	}

	memset(&c, 0, sizeof(c));
	c.opcode = 0xff;		/* vendor specific, unsupported */
	check("unsupported admin opcode", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(0, 0x01));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x06;		/* Identify, reserved CNS */
	c.cdw10 = 0xff;
	c.addr = (unsigned long)buf;
	c.data_len = sizeof(buf);
	check("identify with a reserved CNS", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(0, 0x02));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x02;		/* Get Log Page, reserved LID 7Fh, 512 bytes */
	c.nsid = 0xffffffff;
	c.cdw10 = 0x7f | (127 << 16);
	c.addr = (unsigned long)buf;
	c.data_len = 512;
	check("get log page of a reserved LID", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(1, 0x09));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x05;		/* Create I/O Completion Queue 0: the admin queue's ID */
	c.addr = 0x100000;
	c.cdw10 = 0 | (15 << 16);
	c.cdw11 = 1;
	check("create I/O CQ with QID 0", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(1, 0x01));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x00;		/* Delete I/O Submission Queue that does not exist */
	c.cdw10 = 0x7fff;
	check("delete a queue that does not exist", ctrl, NVME_IOCTL_ADMIN_CMD, &c,
	      STATUS(1, 0x01));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x0a;		/* Get Features, reserved FID */
	c.cdw10 = 0x7f;
	check("get features of a reserved FID", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(0, 0x02));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x0d;		/* Namespace Management, reserved SEL 2 */
	c.cdw10 = 2;
	c.addr = (unsigned long)buf;
	c.data_len = sizeof(buf);
	memset(buf, 0, sizeof(buf));
	check("namespace management with a reserved SEL", ctrl, NVME_IOCTL_ADMIN_CMD, &c,
	      STATUS(0, 0x02));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x15;		/* Namespace Attachment (attach), broadcast NSID */
	c.nsid = 0xffffffff;
	c.addr = (unsigned long)buf;
	c.data_len = sizeof(buf);
	buf[0] = 1;			/* one controller: ID 0 */
	check("attach the broadcast NSID", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(0, 0x02));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x15;		/* Namespace Attachment (detach), an NSID beyond NN */
	c.nsid = 0x7fff;
	c.cdw10 = 1;
	c.addr = (unsigned long)buf;
	c.data_len = sizeof(buf);
	check("detach an NSID beyond NN", ctrl, NVME_IOCTL_ADMIN_CMD, &c, STATUS(0, 0x0b));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x02;		/* Read one block past the end */
	c.nsid = 1;
	c.addr = (unsigned long)buf;
	c.data_len = 512;
	c.cdw10 = (unsigned int)blocks;
	c.cdw11 = (unsigned int)(blocks >> 32);
	check("read past the end of the namespace", ns, NVME_IOCTL_IO_CMD, &c, STATUS(0, 0x80));

	memset(&c, 0, sizeof(c));
	c.opcode = 0x7e;		/* unsupported I/O opcode */
	c.nsid = 1;
	check("unsupported I/O opcode", ns, NVME_IOCTL_IO_CMD, &c, STATUS(0, 0x01));

	return failures;
}
