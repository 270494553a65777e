// SPDX-License-Identifier: GPL-2.0
/* JSON writer: escaping, nesting, commas, numbers. */
#include <stdlib.h>

#include "json.h"
#include "unit.h"

static char *render(void (*fn)(struct fp_json *))
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct fp_json j;

	fp_json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_kv_u64(j, "ios", 42);
	fp_json_key(j, "layers");
	fp_json_object_begin(j);
	fp_json_key(j, "block");
	fp_json_object_begin(j);
	fp_json_kv_double(j, "avg_us", 1.5, 2);
	fp_json_kv_i64(j, "delta", -3);
	fp_json_object_end(j);
	fp_json_kv_bool(j, "ok", true);
	fp_json_object_end(j);
	fp_json_key(j, "list");
	fp_json_array_begin(j);
	fp_json_u64(j, 1);
	fp_json_null(j);
	fp_json_string(j, "x");
	fp_json_array_end(j);
	fp_json_object_end(j);
}

static void escapes(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_kv_string(j, "s", "a\"b\\c\nd\te\r\x01");
	fp_json_object_end(j);
}

static void utf8(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_kv_string(j, "ok", "caf\xc3\xa9 \xe2\x82\xac");
	/* lone continuation byte, truncated sequence, overlong '/' */
	fp_json_key(j, "bad");
	fp_json_string_len(j, "\x80z\xe2\x82\xc0\xaf", 6);
	fp_json_object_end(j);
}

static void binary_key(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_key(j, "k");
	fp_json_string_len(j, "a\0b", 3);
	fp_json_kv_double(j, "nan", 0.0 / 0.0, 2);
	fp_json_object_end(j);
}

static void two_records(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_kv_u64(j, "a", 1);
	fp_json_object_end(j);
	fp_json_newline(j);
	fp_json_object_begin(j);
	fp_json_kv_u64(j, "b", 2);
	fp_json_object_end(j);
	fp_json_newline(j);
}

static void or_null(struct fp_json *j)
{
	fp_json_object_begin(j);
	fp_json_kv_string_or_null(j, "a", "x");
	fp_json_kv_string_or_null(j, "b", "");
	fp_json_kv_string_or_null(j, "c", NULL);
	fp_json_kv_u64_or_null(j, "d", true, 7);
	fp_json_kv_u64_or_null(j, "e", false, 7);
	fp_json_object_end(j);
}

int main(void)
{
	UNIT_STREQ(render(nested),
		   "{\"ios\":42,\"layers\":{\"block\":{\"avg_us\":1.50,"
		   "\"delta\":-3},\"ok\":true},\"list\":[1,null,\"x\"]}",
		   "json: nested objects, arrays and commas");
	UNIT_STREQ(render(escapes), "{\"s\":\"a\\\"b\\\\c\\nd\\te\\r\\u0001\"}",
		   "json: quotes, backslashes and control characters escaped");
	UNIT_STREQ(render(utf8),
		   "{\"ok\":\"caf\xc3\xa9 \xe2\x82\xac\","
		   "\"bad\":\"\\u0080z\\u00e2\\u0082\\u00c0\\u00af\"}",
		   "json: valid UTF-8 kept, invalid bytes escaped");
	UNIT_STREQ(render(binary_key), "{\"k\":\"a\\u0000b\",\"nan\":null}",
		   "json: NUL inside a string and NaN as null");
	UNIT_STREQ(render(two_records), "{\"a\":1}\n{\"b\":2}\n",
		   "json: newline starts a fresh record");
	UNIT_STREQ(render(or_null),
		   "{\"a\":\"x\",\"b\":null,\"c\":null,\"d\":7,\"e\":null}",
		   "json: keys stay, with null where there is no value");
	return unit_done();
}
