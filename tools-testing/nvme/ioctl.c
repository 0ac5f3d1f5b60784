// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/ioctl.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/ioctl.c>
