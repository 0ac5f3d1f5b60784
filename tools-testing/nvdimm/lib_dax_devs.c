// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/dax_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/dax_devs.c>
