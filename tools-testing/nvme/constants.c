// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/constants.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/constants.c>
