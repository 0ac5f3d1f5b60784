// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/pfn_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/pfn_devs.c>
