// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/fault_inject.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/fault_inject.c>
