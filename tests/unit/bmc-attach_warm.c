// SPDX-License-Identifier: GPL-2.0
/*
 * Warm attach without a kernel: memcached's metadump lines into the key
 * hash BMC's BPF side computes and a CLOCK_MONOTONIC deadline.
 */
#include <string.h>

#include "bmc-attach.h"
#include "unit.h"

#define NOW_WALL 1800000000LL
#define NOW_MONO 5000000000000ULL
#define S	 1000000000ULL

static int parse(const char *line, uint64_t *h, uint64_t *d, uint64_t *la)
{
	return bmc_warm_parse_line(line, NOW_WALL, NOW_MONO, h, d, la);
}

int main(void)
{
	uint64_t h, d, la;

	/* FNV-1a 64 of "a", as text.h computes it for the request's key */
	UNIT_CHECK(bmc_key_hash("a", 1) == 0xaf63dc4c8601ec8cULL,
		   "warm: the key hash is BMC's FNV-1a");
	UNIT_CHECK(parse("key=foo exp=-1 la=1799999990 cas=5 fetch=no cls=1 "
			 "size=64\n",
			 &h, &d, &la) == 0 &&
			   h == bmc_key_hash("foo", 3) && d == BMC_EXP_NEVER &&
			   la == 1799999990,
		   "warm: exp=-1 never expires");
	UNIT_CHECK(parse("key=foo exp=-1 la=7 cas=5 fetch=yes cls=1 size=9", &h,
			 &d, &la) == 0 &&
			   la == (7 | BMC_WARM_FETCHED),
		   "warm: a key read since stored ranks above any never read");
	UNIT_CHECK(parse("key=foo exp=1800000060 la=1 cas=5 fetch=no cls=1 "
			 "size=64",
			 &h, &d, &la) == 0 &&
			   d == NOW_MONO + 60 * S - BMC_EXP_MARGIN_NS,
		   "warm: an absolute expiry becomes a monotonic deadline, "
		   "BMC's margin early");
	UNIT_CHECK(parse("key=foo exp=1800000001 la=1", &h, &d, &la) == 0 &&
			   d == 0,
		   "warm: within the margin of expiry counts as expired");
	UNIT_CHECK(parse("key=foo exp=1799999000 la=1", &h, &d, &la) == 0 &&
			   d == 0,
		   "warm: expired is expired");
	UNIT_CHECK(parse("key=a%20b%2Fc exp=-1 la=1", &h, &d, &la) == 0 &&
			   h == bmc_key_hash("a b/c", 5),
		   "warm: keys are URI-decoded as memcached escapes them");
	UNIT_CHECK(parse("key=a%2 exp=-1", &h, &d, &la) != 0 &&
			   parse("key=a%zz exp=-1", &h, &d, &la) != 0 &&
			   parse("key= exp=-1", &h, &d, &la) != 0 &&
			   parse("key=a exp=soon", &h, &d, &la) != 0 &&
			   parse("key=a la=3", &h, &d, &la) != 0 &&
			   parse("mykey=a exp=-1", &h, &d, &la) != 0,
		   "warm: malformed lines are refused");
	{
		char line[400];

		memset(line, 0, sizeof(line));
		strcpy(line, "key=");
		memset(line + 4, 'k', 251);
		strcat(line, " exp=-1");
		UNIT_CHECK(
			parse(line, &h, &d, &la) != 0,
			"warm: a key longer than memcached's 250 is refused");
	}
	return unit_done();
}
