/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer for JSON Lines output: commas and nesting
 * are tracked, strings are escaped per RFC 8259, numbers stay numbers.
 */
#ifndef FASTPATH_JSON_H
#define FASTPATH_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FP_JSON_MAX_DEPTH 16

struct fp_json {
	FILE *out;
	int depth;
	bool first[FP_JSON_MAX_DEPTH]; /* no value written yet at this level */
	bool after_key;
};

void fp_json_init(struct fp_json *j, FILE *out);
void fp_json_object_begin(struct fp_json *j);
void fp_json_object_end(struct fp_json *j);
void fp_json_array_begin(struct fp_json *j);
void fp_json_array_end(struct fp_json *j);
void fp_json_key(struct fp_json *j, const char *key);
void fp_json_string(struct fp_json *j, const char *s);
/* Byte string of known length; invalid UTF-8 and controls become \uXXXX. */
void fp_json_string_len(struct fp_json *j, const char *s, size_t len);
void fp_json_u64(struct fp_json *j, uint64_t v);
void fp_json_i64(struct fp_json *j, int64_t v);
/* NaN and infinities are written as null, which JSON can carry. */
void fp_json_double(struct fp_json *j, double v, int decimals);
void fp_json_bool(struct fp_json *j, bool v);
void fp_json_null(struct fp_json *j);
/* Ends the JSON Lines record: newline, and flush. */
void fp_json_newline(struct fp_json *j);

/* Shorthands for "key": value. */
void fp_json_kv_string(struct fp_json *j, const char *key, const char *s);
void fp_json_kv_u64(struct fp_json *j, const char *key, uint64_t v);
void fp_json_kv_i64(struct fp_json *j, const char *key, int64_t v);
void fp_json_kv_double(struct fp_json *j, const char *key, double v,
		       int decimals);
void fp_json_kv_bool(struct fp_json *j, const char *key, bool v);
/*
 * Keys never disappear between lines: where a value does not apply or is
 * unknown, the key is there with null. A NULL or empty string is null;
 * the number is null unless `have`.
 */
void fp_json_kv_string_or_null(struct fp_json *j, const char *key,
			       const char *s);
void fp_json_kv_u64_or_null(struct fp_json *j, const char *key, bool have,
			    uint64_t v);
void fp_json_kv_double_or_null(struct fp_json *j, const char *key, bool have,
			       double v, int decimals);
/* "ts": wall-clock seconds with microseconds, the first key of every object. */
void fp_json_kv_ts(struct fp_json *j, double ts);

/* Writes s quoted and escaped, for callers that print JSON by hand. */
void fp_json_write_escaped(FILE *out, const char *s, size_t len);

#endif
