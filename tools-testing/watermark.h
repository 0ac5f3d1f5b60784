/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every relinked module exports nvmock_watermark_<name>(), and the tests that rely on the
 * relinked copy call it: if the production module of the same name got loaded instead,
 * loading the test fails with an unresolved symbol instead of silently testing unwrapped
 * code.
 */
#ifndef _NVMOCK_WATERMARK_H
#define _NVMOCK_WATERMARK_H
#include <linux/export.h>

#define nvmock_watermark(name)				\
	int nvmock_watermark_##name(void);		\
	int nvmock_watermark_##name(void)		\
	{						\
		return 0;				\
	}						\
	EXPORT_SYMBOL_GPL(nvmock_watermark_##name)
#endif
