// SPDX-License-Identifier: GPL-2.0
/* drivers/nvdimm/nd_perf.c, relinked into libnvdimm (see ../Kbuild). */
#include <../nvdimm/nd_perf.c>
