// SPDX-License-Identifier: GPL-2.0
/* fp_read_line: a file's first line without its newline; "" and -errno when
 * there is none. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "file.h"
#include "unit.h"

int main(void)
{
	char path[] = "/tmp/fp-unit-file-XXXXXX", buf[8];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	UNIT_CHECK(f != NULL, "a scratch file");
	if (!f)
		return unit_done();
	fputs("first\nsecond\n", f);
	fclose(f);
	UNIT_CHECK(!fp_read_line(path, buf, sizeof(buf)) &&
			   !strcmp(buf, "first"),
		   "the first line, without its newline");
	UNIT_CHECK(!fp_read_line(path, buf, 4) && !strcmp(buf, "fir"),
		   "cut to the buffer");
	f = fopen(path, "w");
	if (f)
		fclose(f);
	UNIT_CHECK(fp_read_line(path, buf, sizeof(buf)) == -ENODATA && !buf[0],
		   "an empty file is -ENODATA and \"\"");
	unlink(path);
	UNIT_CHECK(fp_read_line(path, buf, sizeof(buf)) == -ENOENT && !buf[0],
		   "a missing file is -ENOENT and \"\"");
	return unit_done();
}
