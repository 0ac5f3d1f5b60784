/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C glue's shared structures, for bindgen (src/modules/Kbuild): the Rust mirrors in
 * src/glue/ check their layout against what bindgen reads here (src/glue/c_types.rs).
 */
#include "../../mock/nvmock_iomap.h"
#include "../../mock/nvmock_nfit.h"
/* struct hotplug_slot and its ops: the slot suite powers a slot as sysfs does. */
#include <linux/pci.h>
#include <linux/pci_hotplug.h>
