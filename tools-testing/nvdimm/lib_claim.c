// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/claim.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/claim.c>
