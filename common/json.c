// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json.h"

void fp_json_init(struct fp_json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->first[0] = true;
}

/* Comma before every value but the first at its level; none after a key. */
static void before_value(struct fp_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		fputc(',', j->out);
	j->first[j->depth] = false;
}

static void open_level(struct fp_json *j, char c)
{
	before_value(j);
	fputc(c, j->out);
	if (j->depth < FP_JSON_MAX_DEPTH - 1)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_level(struct fp_json *j, char c)
{
	fputc(c, j->out);
	if (j->depth > 0)
		j->depth--;
}

void fp_json_object_begin(struct fp_json *j)
{
	open_level(j, '{');
}

void fp_json_object_end(struct fp_json *j)
{
	close_level(j, '}');
}

void fp_json_array_begin(struct fp_json *j)
{
	open_level(j, '[');
}

void fp_json_array_end(struct fp_json *j)
{
	close_level(j, ']');
}

/* Length of the valid UTF-8 sequence at s (max len bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0) {
		n = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

void fp_json_write_escaped(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	fputc('"', out);
	while (i < len) {
		unsigned char c = s[i];
		size_t n;

		switch (c) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		default:
			if (c < 0x20 || c == 0x7F) {
				fprintf(out, "\\u%04x", c);
				break;
			}
			n = utf8_len(s + i, len - i);
			if (n == 0) {
				/* Not UTF-8: show the byte as its Latin-1 code
				 * point so the output stays valid JSON. */
				fprintf(out, "\\u%04x", c);
				break;
			}
			fwrite(s + i, 1, n, out);
			i += n;
			continue;
		}
		i++;
	}
	fputc('"', out);
}

void fp_json_key(struct fp_json *j, const char *key)
{
	before_value(j);
	fp_json_write_escaped(j->out, key, strlen(key));
	fputc(':', j->out);
	j->after_key = true;
}

void fp_json_string(struct fp_json *j, const char *s)
{
	fp_json_string_len(j, s, strlen(s));
}

void fp_json_string_len(struct fp_json *j, const char *s, size_t len)
{
	before_value(j);
	fp_json_write_escaped(j->out, s, len);
}

void fp_json_u64(struct fp_json *j, uint64_t v)
{
	before_value(j);
	fprintf(j->out, "%" PRIu64, v);
}

void fp_json_i64(struct fp_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->out, "%" PRId64, v);
}

void fp_json_double(struct fp_json *j, double v, int decimals)
{
	before_value(j);
	if (!isfinite(v))
		fputs("null", j->out);
	else
		fprintf(j->out, "%.*f", decimals, v);
}

void fp_json_bool(struct fp_json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->out);
}

void fp_json_null(struct fp_json *j)
{
	before_value(j);
	fputs("null", j->out);
}

void fp_json_newline(struct fp_json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
	j->depth = 0;
	j->first[0] = true;
	j->after_key = false;
}

void fp_json_kv_string(struct fp_json *j, const char *key, const char *s)
{
	fp_json_key(j, key);
	fp_json_string(j, s);
}

void fp_json_kv_u64(struct fp_json *j, const char *key, uint64_t v)
{
	fp_json_key(j, key);
	fp_json_u64(j, v);
}

void fp_json_kv_i64(struct fp_json *j, const char *key, int64_t v)
{
	fp_json_key(j, key);
	fp_json_i64(j, v);
}

void fp_json_kv_double(struct fp_json *j, const char *key, double v,
		       int decimals)
{
	fp_json_key(j, key);
	fp_json_double(j, v, decimals);
}

void fp_json_kv_bool(struct fp_json *j, const char *key, bool v)
{
	fp_json_key(j, key);
	fp_json_bool(j, v);
}

void fp_json_kv_string_or_null(struct fp_json *j, const char *key,
			       const char *s)
{
	fp_json_key(j, key);
	if (s && *s)
		fp_json_string(j, s);
	else
		fp_json_null(j);
}

void fp_json_kv_u64_or_null(struct fp_json *j, const char *key, bool have,
			    uint64_t v)
{
	fp_json_key(j, key);
	if (have)
		fp_json_u64(j, v);
	else
		fp_json_null(j);
}

void fp_json_kv_double_or_null(struct fp_json *j, const char *key, bool have,
			       double v, int decimals)
{
	fp_json_key(j, key);
	if (have)
		fp_json_double(j, v, decimals);
	else
		fp_json_null(j);
}

void fp_json_kv_ts(struct fp_json *j, double ts)
{
	fp_json_kv_double(j, "ts", ts, 6);
}
