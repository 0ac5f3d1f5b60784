// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/zns.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/zns.c>
