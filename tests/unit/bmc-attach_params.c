// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-attach's logic that needs no kernel: the cache's geometry for a
 * --cache-size, the option values it accepts, and which command line form
 * (a command, or the old IFACE / --detach / --status) an argv is.
 */
#include <errno.h>

#include "bmc-attach.h"
#include "unit.h"

/* The command table, as main.c has it; the commands are never run. */
static int never(const void *opts)
{
	(void)opts;
	return 1;
}
static const struct fp_command a = {.name = "attach", .run = never};
static const struct fp_command d = {.name = "detach", .run = never};
static const struct fp_command s = {.name = "status", .run = never};
static const struct fp_command *const cmds[] = {&a, &d, &s, NULL};
static const struct fp_tool tool = {.name = "bmc-attach", .commands = cmds};

static bool form(int argc, const char **argv)
{
	return bmc_command_form(&tool, argc, (char **)argv);
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void geometry(void)
{
	const uint64_t e = sizeof(struct bmc_entry);
	struct bmc_geometry g;

	bmc_cache_geometry(64ULL << 20, &g);
	UNIT_CHECK(pow2(g.sets) && g.entries == g.sets * BMC_WAYS,
		   "geometry: 64M is a power of two of sets of %d ways",
		   BMC_WAYS);
	UNIT_CHECK(g.entries * e <= (64ULL << 20) &&
			   g.entries * 2 * e > (64ULL << 20),
		   "geometry: 64M fills more than half of it, never more "
		   "(%llu entries of %llu bytes)",
		   (unsigned long long)g.entries, (unsigned long long)e);
	UNIT_CHECK(pow2(g.gens) && g.gens >= g.entries && g.gens >= 1024,
		   "geometry: generations a power of two, >= entries");
	UNIT_CHECK(g.exps == g.entries * 2, "geometry: expiries twice the "
					    "entries");
	bmc_cache_geometry(BMC_MIN_CACHE, &g);
	UNIT_CHECK(g.sets >= 8 && g.gens == 1024 && g.exps == 4096,
		   "geometry: 64K gets the floors (8 sets, 1024 generations, "
		   "4096 expiries)");
	bmc_cache_geometry(1, &g);
	UNIT_CHECK(g.sets == 8 && g.entries == 8 * BMC_WAYS,
		   "geometry: smaller than one set still has 8 sets");
	bmc_cache_geometry(16ULL << 20, &g);
	UNIT_CHECK(g.entries == 8192,
		   "geometry: 16M is the README's 8192 entries");
}

static void values(void)
{
	uint64_t size = 0;
	uint32_t age = 0;

	UNIT_CHECK(!bmc_parse_cache_size("64M", &size) && size == 64ULL << 20,
		   "--cache-size 64M");
	UNIT_CHECK(!bmc_parse_cache_size("64K", &size) && size == 64ULL << 10,
		   "--cache-size 64K, the least");
	UNIT_CHECK(!bmc_parse_cache_size("64G", &size) && size == 64ULL << 30,
		   "--cache-size 64G, the most");
	UNIT_CHECK(bmc_parse_cache_size("63K", &size) == -ERANGE &&
			   bmc_parse_cache_size("65G", &size) == -ERANGE,
		   "--cache-size outside 64K..64G is -ERANGE");
	UNIT_CHECK(bmc_parse_cache_size("12Q", &size) == -EINVAL &&
			   bmc_parse_cache_size("", &size) == -EINVAL,
		   "--cache-size 12Q is -EINVAL");
	UNIT_CHECK(!bmc_parse_max_age("60", &age) && age == 60, "--max-age 60");
	UNIT_CHECK(!bmc_parse_max_age("2592000", &age) && age == 2592000,
		   "--max-age 30 days, the most");
	UNIT_CHECK(bmc_parse_max_age("0", &age) == -EINVAL &&
			   bmc_parse_max_age("-3", &age) == -EINVAL &&
			   bmc_parse_max_age("2592001", &age) == -EINVAL,
		   "--max-age 0, -3 and 30 days + 1 are refused");
	UNIT_CHECK(!bmc_parse_max_value("200", &age) && age == 200,
		   "--max-value 200");
	UNIT_CHECK(!bmc_parse_max_value("1000", &age) && age == 1000,
		   "--max-value 1000, BMC's limit");
	UNIT_CHECK(bmc_parse_max_value("0", &age) == -EINVAL &&
			   bmc_parse_max_value("1001", &age) == -EINVAL &&
			   bmc_parse_max_value("1k", &age) == -EINVAL,
		   "--max-value 0, 1001 and 1k are refused");
}

static void forms(void)
{
	const char *attach[] = {"bmc-attach", "attach", "eth0"};
	const char *flags[] = {"bmc-attach", "-vj", "--json", "status"};
	const char *help[] = {"bmc-attach", "help", "detach"};
	const char *old[] = {"bmc-attach", "eth0", "--cache-size", "8M"};
	const char *det[] = {"bmc-attach", "--detach", "eth0"};
	const char *st[] = {"bmc-attach", "-j", "--status"};
	const char *arg[] = {"bmc-attach", "-p", "11211", "attach"};
	const char *dash[] = {"bmc-attach", "--", "status"};
	const char *none[] = {"bmc-attach", "-v"};

	UNIT_CHECK(form(3, attach), "form: 'attach eth0' is a command");
	UNIT_CHECK(form(4, flags), "form: -v, -j before the command");
	UNIT_CHECK(form(3, help), "form: 'help detach' is a command");
	UNIT_CHECK(!form(4, old), "form: 'eth0 --cache-size 8M' is the old "
				  "attach");
	UNIT_CHECK(!form(3, det), "form: '--detach eth0' is the old detach");
	UNIT_CHECK(!form(3, st), "form: '-j --status' is the old status");
	UNIT_CHECK(!form(4, arg), "form: after an option that takes a "
				  "value, 'attach' is an interface");
	UNIT_CHECK(!form(3, dash), "form: after --, 'status' is an "
				   "interface");
	UNIT_CHECK(!form(2, none) && !form(1, none),
		   "form: no command at all is the old form (its errors)");
}

int main(void)
{
	geometry();
	values();
	forms();
	return unit_done();
}
