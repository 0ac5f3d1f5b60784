// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/namespace_devs.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/namespace_devs.c>
