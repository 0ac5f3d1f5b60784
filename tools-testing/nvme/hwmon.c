// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/hwmon.c, relinked into nvme-core (see ../Kbuild). */
#include <../host/hwmon.c>
