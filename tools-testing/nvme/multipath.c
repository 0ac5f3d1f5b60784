// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/multipath.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/multipath.c>
