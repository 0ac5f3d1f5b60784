// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/btt_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/btt_devs.c>
