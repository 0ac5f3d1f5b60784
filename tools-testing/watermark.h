/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every relinked module exports nvmock_watermark_<name>(), which names the module it was
 * built into; the suites nvmock_relinked and nvmock_relinked_nvdimm (src/kunit/) call each
 * one and compare the answer. If the production module of the same name got loaded instead,
 * loading the suite's module fails with an unresolved symbol; if a relinked object ended up
 * in the wrong module, the name differs. Either way the run fails instead of silently
 * testing unwrapped code.
 */
#ifndef _NVMOCK_WATERMARK_H
#define _NVMOCK_WATERMARK_H
#include <linux/export.h>

#define nvmock_watermark(name)						\
	const char *nvmock_watermark_##name(void);			\
	const char *nvmock_watermark_##name(void)			\
	{								\
		return "nvmock relinked " #name " in " KBUILD_MODNAME;	\
	}								\
	EXPORT_SYMBOL_GPL(nvmock_watermark_##name)
#endif
