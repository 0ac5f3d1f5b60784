// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/badrange.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/badrange.c>
