// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/auth.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/auth.c>
