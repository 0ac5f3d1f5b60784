// SPDX-License-Identifier: GPL-2.0
/* drivers/nvme/host/core.c, relinked into nvme-core (see ../Kbuild). */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

static_assert(IS_MODULE(CONFIG_NVME_CORE), "nvmock relinks nvme-core: CONFIG_NVME_CORE must be m");

#include <../host/core.c>

#include "../watermark.h"
nvmock_watermark(nvme_core);
