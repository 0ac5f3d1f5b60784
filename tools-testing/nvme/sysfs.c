// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/sysfs.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/sysfs.c>
