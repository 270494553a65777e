// SPDX-License-Identifier: GPL-2.0
/*
 * syrup-steer's KEY=VALUE settings (attach --param, set), parsed as the
 * tool parses them, with the messages a user sees: load.N, numbers, byte
 * strings of built-ins, names the built-in does not read, and user
 * policies that take any name. Links tools/syrup-steer/settings.c.
 */
#include <errno.h>
#include <string.h>

#include "steer.h"
#include "unit.h"

static int parse(const char *s, int builtin, struct syrup_setting *out,
		 char *why)
{
	why[0] = '\0';
	return syrup_setting_parse(s, builtin, out, why, 256);
}

int main(void)
{
	struct syrup_setting s;
	char why[256];

	UNIT_CHECK(parse("threshold=512", SYRUP_SITA, &s, why) == 0 &&
			   !s.load && !s.bytes && s.value == 512 &&
			   !strcmp(s.name, "threshold") &&
			   !strcmp(s.text, "512"),
		   "param: a built-in's number");
	UNIT_CHECK(parse("threshold=0x10", SYRUP_SITA, &s, why) == 0 &&
			   s.value == 16,
		   "param: hex, as everywhere in the toolkit");
	UNIT_CHECK(parse("class=SCAN", SYRUP_SITA, &s, why) == 0 && s.bytes &&
			   s.value == 0x4e414353,
		   "param: bytes, the first in the lowest byte");
	UNIT_CHECK(parse("class=", SYRUP_SITA, &s, why) == 0 && s.bytes &&
			   s.value == 0,
		   "param: an empty byte string");
	UNIT_CHECK(parse("class=ABCDEFGHIJ", SYRUP_SITA, &s, why) == -EINVAL,
		   "param: more than 8 bytes refused");
	UNIT_STREQ(why, "invalid class 'ABCDEFGHIJ': at most 8 bytes",
		   "param: ... saying so");
	parse("colour=blue", SYRUP_SITA, &s, why);
	UNIT_STREQ(why,
		   "policy sita has no parameter 'colour' (it has: threshold, "
		   "class, big)",
		   "param: a name the built-in does not read, and its names");
	UNIT_CHECK(parse("threshold=x", SYRUP_SITA, &s, why) == -EINVAL,
		   "param: not a number");
	UNIT_STREQ(why, "invalid value 'x' for threshold: want a number",
		   "param: ... saying which");
	UNIT_CHECK(parse("anything=3", SYRUP_RR, &s, why) == -EINVAL,
		   "param: rr takes none");
	UNIT_STREQ(why, "policy rr takes no parameter ('anything' given)",
		   "param: ... saying so");
	UNIT_CHECK(parse("scan_workers=2", SYRUP_USER, &s, why) == 0 &&
			   s.value == 2 && !s.bytes,
		   "param: a user policy takes any name, as a number");
	UNIT_CHECK(parse("sixteen_bytes_xx=1", SYRUP_USER, &s, why) ==
				   -EINVAL &&
			   strstr(why, "1 to 15 bytes"),
		   "param: names longer than the map's key refused");

	UNIT_CHECK(parse("load.3=7", SYRUP_LEAST_LOADED, &s, why) == 0 &&
			   s.load && s.exec == 3 && s.value == 7,
		   "load: executor and value");
	UNIT_CHECK(parse("load.3=7", SYRUP_USER, &s, why) == 0 && s.load,
		   "load: for any policy");
	UNIT_CHECK(parse("load.64=1", SYRUP_RR, &s, why) == -EINVAL,
		   "load: executors stop at 63");
	UNIT_STREQ(why,
		   "invalid executor in 'load.64=1': want load.N with N below "
		   "64",
		   "load: ... saying so");
	parse("load.1=-2", SYRUP_RR, &s, why);
	UNIT_STREQ(why, "invalid load '-2': want a number",
		   "load: negative refused");
	UNIT_CHECK(parse("nothing", SYRUP_RR, &s, why) == -EINVAL &&
			   !strcmp(why, "invalid setting 'nothing': want "
					"KEY=VALUE"),
		   "shape: no '='");

	UNIT_CHECK(syrup_setting_shape_ok("a=1") &&
			   !syrup_setting_shape_ok("=1") &&
			   !syrup_setting_shape_ok("a"),
		   "shape: what the command line takes");
	UNIT_CHECK(syrup_builtin_id("least-loaded") == SYRUP_LEAST_LOADED &&
			   syrup_builtin_id("user") == -1 &&
			   syrup_builtin_id("") == -1,
		   "built-ins: by name");
	UNIT_STREQ(syrup_builtin_name(SYRUP_USER), "user",
		   "built-ins: a user policy's name");
	UNIT_CHECK(syrup_policy_spec_valid("rr") &&
			   syrup_policy_spec_valid("./p.c") &&
			   syrup_policy_spec_valid("p.bpf.o") &&
			   !syrup_policy_spec_valid("nosuch"),
		   "policy: a built-in, a .c or a .o");
	return unit_done();
}
