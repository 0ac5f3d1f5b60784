// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/region_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/region_devs.c>
