// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel requirements: every one is probed and listed for -v, the first
 * missing one (in table order) is what the refusal names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "require.h"
#include "unit.h"

static int calls;

static bool yes(void)
{
	calls++;
	return true;
}

static bool no(void)
{
	calls++;
	return false;
}

int main(void)
{
	const struct fp_requirement reqs[] = {
		{"feature a", "5.12", yes},
		{"feature b", "5.11", no},
		{"feature c", "5.9", no},
	};
	const struct fp_requirement *miss;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	miss = fp_require_probe(reqs, 1, NULL);
	UNIT_CHECK(miss == NULL, "require: all present is NULL");
	calls = 0;
	f = open_memstream(&text, &len);
	miss = fp_require_probe(reqs, 3, f);
	fclose(f);
	UNIT_CHECK(miss == &reqs[1], "require: the first missing one, in "
				     "table order");
	UNIT_CHECK(calls == 3, "require: every one is probed (%d)", calls);
	UNIT_CHECK(text && strstr(text, "feature a (5.12)") &&
			   strstr(text, "feature c (5.9)"),
		   "require: each is listed with its release");
	free(text);
	return unit_done();
}
