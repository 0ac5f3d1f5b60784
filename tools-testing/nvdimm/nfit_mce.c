// SPDX-License-Identifier: GPL-2.0
/* drivers/acpi/nfit/mce.c, relinked into nfit (see ../Kbuild). */
#include <../acpi/nfit/mce.c>
