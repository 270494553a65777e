// SPDX-License-Identifier: GPL-2.0
/* Pin directories: created 0700, removed with their contents and with the
 * parents they leave empty, never above the stop directory. Exercised on a
 * temporary directory; bpffs behaves the same for these calls. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin.h"
#include "unit.h"

static int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 0777);
}

int main(void)
{
	char root[] = "/tmp/fp-pin-XXXXXX", dir[256], other[256], file[256];

	if (!mkdtemp(root))
		return 1;
	snprintf(dir, sizeof(dir), "%s/bmc/veth0", root);
	snprintf(other, sizeof(other), "%s/bmc/veth1", root);

	UNIT_CHECK(fp_pin_dir_create(dir) == 0 && fp_pin_dir_exists(dir),
		   "pin: nested directory created");
	UNIT_CHECK(mode_of(dir) == 0700, "pin: directory mode is 0700");
	snprintf(file, sizeof(file), "%s/bmc", root);
	UNIT_CHECK(mode_of(file) == 0700, "pin: created parents are 0700 too");
	UNIT_CHECK(fp_pin_dir_create(dir) == 0, "pin: creating twice is fine");

	fp_pin_path(file, sizeof(file), dir, "stats");
	fclose(fopen(file, "w"));
	fp_pin_dir_create(other);
	UNIT_CHECK(fp_pin_dir_remove(dir, root) == 0 && !fp_pin_dir_exists(dir),
		   "pin: directory and contents removed");
	snprintf(file, sizeof(file), "%s/bmc", root);
	UNIT_CHECK(fp_pin_dir_exists(file),
		   "pin: a parent still holding another directory stays");
	UNIT_CHECK(fp_pin_dir_remove(other, root) == 0 &&
			   !fp_pin_dir_exists(file) && fp_pin_dir_exists(root),
		   "pin: emptied parents removed, stop directory kept");
	UNIT_CHECK(fp_pin_dir_remove(dir, root) == -ENOENT,
		   "pin: removing what is not there says ENOENT");
	UNIT_CHECK(fp_pin_path(file, 8, "/sys/fs/bpf", "x") == -ENAMETOOLONG,
		   "pin: truncated paths are refused");
	rmdir(root);
	return unit_done();
}
