// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/region.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/region.c>
