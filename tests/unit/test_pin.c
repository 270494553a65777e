// SPDX-License-Identifier: GPL-2.0
/* Pin directories: created 0700, removed with their contents and with the
 * parents they leave empty, never above the stop directory. Exercised on a
 * temporary directory; bpffs behaves the same for these calls. Pinning and
 * opening by name need bpffs and CAP_BPF: skipped without them. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pin.h"
#include "unit.h"

/* A map pinned by name, found again, looked up; then the dir goes. */
static void pin_by_name(void)
{
	char dir[] = FP_BPFFS "/fp-unit-XXXXXX";
	__u32 key = 0, value = 42, got = 0;
	int fd, back;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fp_unit", 4, 4, 1, NULL);
	if (fd < 0 || !mkdtemp(dir)) {
		if (fd >= 0)
			close(fd);
		UNIT_SKIP("no bpffs or CAP_BPF", "pin: by name");
		return;
	}
	bpf_map_update_elem(fd, &key, &value, BPF_ANY);
	UNIT_CHECK(fp_pin_fd(fd, dir, "config") == 0 &&
			   fp_pin_exists(dir, "config") &&
			   !fp_pin_exists(dir, "other"),
		   "pin: an fd pinned by directory and name");
	close(fd);
	back = fp_pin_open(dir, "config");
	UNIT_CHECK(back >= 0, "pin: opened again by name");
	if (back >= 0)
		close(back);
	UNIT_CHECK(fp_pin_lookup(dir, "config", &key, &got) == 0 && got == 42,
		   "pin: looked up by name");
	UNIT_CHECK(fp_pin_open(dir, "other") == -ENOENT && errno == ENOENT,
		   "pin: a missing pin is -ENOENT, errno kept");
	UNIT_CHECK(fp_pin_lookup(dir, "other", &key, &got) == -ENOENT,
		   "pin: looking up a missing pin says ENOENT");
	fp_pin_dir_remove(dir, FP_BPFFS);
}

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
	pin_by_name();
	return unit_done();
}
