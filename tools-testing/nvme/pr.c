// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/pr.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/pr.c>
