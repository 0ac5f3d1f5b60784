// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/trace.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/trace.c>
