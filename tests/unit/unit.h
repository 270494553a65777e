/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal TAP producer for C unit tests; tests/run counts its lines. */
#ifndef FASTPATH_UNIT_H
#define FASTPATH_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int unit_number, unit_failures;

#define UNIT_CHECK(cond, ...)                                                \
	do {                                                                 \
		int unit_ok_ = !!(cond); /* evaluated once */                \
		unit_number++;                                               \
		if (!unit_ok_)                                               \
			unit_failures++;                                     \
		printf("%s %d - ", unit_ok_ ? "ok" : "not ok", unit_number); \
		printf(__VA_ARGS__);                                         \
		printf("\n");                                                \
		if (!unit_ok_)                                               \
			printf("#   failed: %s (%s:%d)\n", #cond, __FILE__,  \
			       __LINE__);                                    \
	} while (0)

#define UNIT_STREQ(a, b, ...) UNIT_CHECK(strcmp((a), (b)) == 0, __VA_ARGS__)

/* A check this machine cannot make (no root, no bpffs): TAP's skip. */
#define UNIT_SKIP(why, ...)                      \
	do {                                     \
		unit_number++;                   \
		printf("ok %d - ", unit_number); \
		printf(__VA_ARGS__);             \
		printf(" # skip %s\n", (why));   \
	} while (0)

/* UNIT_CHECK for a caller with a va_list: a test whose ok() is shared by
 * several files (only one file may include this header then). */
static inline void unit_vcheck(int ok, const char *fmt, va_list ap)
{
	unit_number++;
	if (!ok)
		unit_failures++;
	printf("%s %d - ", ok ? "ok" : "not ok", unit_number);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

static inline int unit_done(void)
{
	return unit_failures ? 1 : 0;
}

#endif
