// SPDX-License-Identifier: GPL-2.0
/* Strict parsing of numbers, sizes, seconds, ports and CPU lists; output
 * helpers. */
#include <errno.h>

#include "output.h"
#include "options.h"
#include "unit.h"

int main(void)
{
	uint64_t v = 0;
	double d = 0;
	uint16_t port = 0;
	char buf[64];

	UNIT_CHECK(fp_parse_u64("42", 0, 100, &v) == 0 && v == 42,
		   "u64: plain");
	UNIT_CHECK(fp_parse_u64("0x10", 0, 100, &v) == 0 && v == 16,
		   "u64: hex");
	UNIT_CHECK(fp_parse_u64("-1", 0, 100, &v) == -EINVAL,
		   "u64: negative refused");
	UNIT_CHECK(fp_parse_u64("12abc", 0, 100, &v) == -EINVAL,
		   "u64: trailing junk refused");
	UNIT_CHECK(fp_parse_u64("", 0, 100, &v) == -EINVAL,
		   "u64: empty refused");
	UNIT_CHECK(fp_parse_u64("101", 0, 100, &v) == -ERANGE,
		   "u64: above max refused");
	UNIT_CHECK(fp_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v) ==
			   -ERANGE,
		   "u64: overflow refused");

	UNIT_CHECK(fp_parse_seconds("0.5", 10, &d) == 0 && d == 0.5,
		   "seconds: fraction");
	UNIT_CHECK(fp_parse_seconds("0", 10, &d) == -ERANGE,
		   "seconds: zero refused");
	UNIT_CHECK(fp_parse_seconds("nan", 10, &d) == -EINVAL,
		   "seconds: nan refused");
	UNIT_CHECK(fp_parse_seconds("1s", 10, &d) == -EINVAL,
		   "seconds: unit suffix refused");

	UNIT_CHECK(fp_parse_size("64M", &v) == 0 && v == 64ULL << 20,
		   "size: 64M");
	UNIT_CHECK(fp_parse_size("1G", &v) == 0 && v == 1ULL << 30, "size: 1G");
	UNIT_CHECK(fp_parse_size("512k", &v) == 0 && v == 512ULL << 10,
		   "size: 512k");
	UNIT_CHECK(fp_parse_size("2MiB", &v) == 0 && v == 2ULL << 20,
		   "size: 2MiB");
	UNIT_CHECK(fp_parse_size("4096", &v) == 0 && v == 4096, "size: bytes");
	UNIT_CHECK(fp_parse_size("64X", &v) == -EINVAL,
		   "size: unknown suffix refused");
	UNIT_CHECK(fp_parse_size("M", &v) == -EINVAL,
		   "size: no digits refused");
	UNIT_CHECK(fp_parse_size("99999999999999G", &v) == -ERANGE,
		   "size: overflow refused");

	UNIT_CHECK(fp_parse_port("11211", &port) == 0 && port == 11211,
		   "port: valid");
	UNIT_CHECK(fp_parse_port("0", &port) == -ERANGE, "port: zero refused");
	UNIT_CHECK(fp_parse_port("65536", &port) == -ERANGE,
		   "port: too big refused");

	int cpus[8];

	UNIT_CHECK(fp_parse_cpu_list("0-3,5", 63, cpus, 8) == 5 &&
			   cpus[0] == 0 && cpus[3] == 3 && cpus[4] == 5,
		   "cpus: ranges and single CPUs");
	UNIT_CHECK(fp_parse_cpu_list("3,1", 63, cpus, 8) == 2 && cpus[0] == 3 &&
			   cpus[1] == 1,
		   "cpus: in the order given");
	UNIT_CHECK(fp_parse_cpu_list("7", 63, cpus, 8) == 1 && cpus[0] == 7,
		   "cpus: one CPU");
	UNIT_CHECK(fp_parse_cpu_list("3-1", 63, cpus, 8) == -EINVAL,
		   "cpus: a backwards range refused");
	UNIT_CHECK(fp_parse_cpu_list("64", 63, cpus, 8) == -EINVAL,
		   "cpus: above the highest CPU refused");
	UNIT_CHECK(fp_parse_cpu_list("0-8", 63, cpus, 8) == -E2BIG,
		   "cpus: more than fit refused");
	UNIT_CHECK(fp_parse_cpu_list("", 63, cpus, 8) == -EINVAL &&
			   fp_parse_cpu_list(",", 63, cpus, 8) == -EINVAL,
		   "cpus: an empty list refused");
	UNIT_CHECK(fp_parse_cpu_list("1,x", 63, cpus, 8) == -EINVAL &&
			   fp_parse_cpu_list("1-", 63, cpus, 8) == -EINVAL &&
			   fp_parse_cpu_list("-1", 63, cpus, 8) == -EINVAL,
		   "cpus: junk refused");
	UNIT_CHECK(fp_parse_cpu_list("0-1\n", 63, cpus, 8) == -EINVAL,
		   "cpus: a trailing newline is the caller's to strip");

	UNIT_STREQ(fp_human_count(buf, sizeof(buf), 1234567), "1.23M",
		   "human: count");
	UNIT_STREQ(fp_human_count(buf, sizeof(buf), 999), "999",
		   "human: small count");
	UNIT_STREQ(fp_human_bytes(buf, sizeof(buf), 64ULL << 20), "64.0MiB",
		   "human: bytes");

	struct fp_column cols[] = {{"layer", 6, true}, {"count", 6, false}};
	const char *row[] = {"block", "12"};
	char tbl[128];
	FILE *f = fmemopen(tbl, sizeof(tbl), "w");
	fp_table_header(f, cols, 2);
	fp_table_row(f, cols, 2, row);
	fclose(f);
	UNIT_STREQ(tbl, "layer   count\nblock      12\n",
		   "table: aligned columns");
	return unit_done();
}
