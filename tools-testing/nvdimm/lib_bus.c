// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/bus.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/bus.c>
