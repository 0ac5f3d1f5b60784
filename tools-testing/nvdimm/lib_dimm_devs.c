// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/dimm_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/dimm_devs.c>
