// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/dimm.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/dimm.c>
