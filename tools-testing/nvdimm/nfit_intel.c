// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/acpi/nfit/intel.c, relinked into nfit (see ../Kbuild), with the strong
 * nfit_intel_shutdown_status() the core's __weak one gives way to.
 */
#include <../acpi/nfit/intel.c>

/*
 * nfit_intel_shutdown_status - the dirty-shutdown count of an Intel-family DIMM
 *
 * The tree's version asks the DIMM's ACPI device, which an emulated bus does not have.
 * Emulated DIMMs report the count nfit_test's report (42), which ndctl's libndctl test
 * checks.
 */
void nfit_intel_shutdown_status(struct nfit_mem *nfit_mem)
{
	set_bit(NFIT_MEM_DIRTY_COUNT, &nfit_mem->flags);
	nfit_mem->dirty_shutdown = 42;
}
