// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/label.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/label.c>
