// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-attach's pure logic, without BPF or the kernel: the cache's geometry,
 * option values, which command line form argv is. Unit-tested.
 */
#include <errno.h>
#include <string.h>

#include "bmc-attach.h"

static uint64_t pow2_floor(uint64_t v)
{
	uint64_t p = 1;

	while (p * 2 <= v)
		p *= 2;
	return p;
}

void bmc_cache_geometry(uint64_t cache_size, struct bmc_geometry *g)
{
	uint64_t entries = cache_size / sizeof(struct bmc_entry);

	g->sets = pow2_floor(entries / BMC_WAYS ? entries / BMC_WAYS : 1);
	if (g->sets < 8)
		g->sets = 8;
	g->entries = g->sets * BMC_WAYS;
	g->gens = pow2_floor(g->entries);
	if (g->gens < g->entries)
		g->gens *= 2;
	if (g->gens < 1024)
		g->gens = 1024;
	g->exps = g->entries * 2 < 4096 ? 4096 : g->entries * 2;
}

int bmc_parse_cache_size(const char *s, uint64_t *out)
{
	uint64_t v;

	if (fp_parse_size(s, &v))
		return -EINVAL;
	if (v < BMC_MIN_CACHE || v > BMC_MAX_CACHE)
		return -ERANGE;
	*out = v;
	return 0;
}

int bmc_parse_max_age(const char *s, uint32_t *out)
{
	uint64_t v;

	if (fp_parse_u64(s, 1, BMC_MAX_AGE_MAX, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int bmc_parse_max_value(const char *s, uint32_t *out)
{
	uint64_t v;

	if (fp_parse_u64(s, 1, BMC_MAX_VALUE, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* -v, -j, --verbose, --json, or a bundle of v and j ("-vj"). */
static bool tool_flag(const char *a)
{
	if (!strcmp(a, "--verbose") || !strcmp(a, "--json"))
		return true;
	if (a[0] != '-' || !a[1] || a[1] == '-')
		return false;
	return strspn(a + 1, "vj") == strlen(a + 1);
}

bool bmc_command_form(const struct fp_tool *tool, int argc, char **argv)
{
	int i = 1;

	while (i < argc && tool_flag(argv[i]))
		i++;
	if (i >= argc)
		return false;
	return !strcmp(argv[i], "help") || fp_command_find(tool, argv[i]);
}
