// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/security.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/security.c>
