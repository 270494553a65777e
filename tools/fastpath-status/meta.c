// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_metadata: an object may declare `volatile const char
 * bpf_metadata_NAME[]` in .rodata. libbpf binds the object's .rodata map to
 * every program it loads (BPF_PROG_BIND_MAP), so the program's map IDs lead
 * to it even when no instruction reads it, and its BTF names the variables
 * and their offsets. This is the convention bpftool prog show reads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "status.h"

#define MAX_MAPS 64

/* The program's maps: their IDs into ids[], the count returned. */
static int prog_map_ids(int prog_fd, __u32 *ids, __u32 max)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	info.nr_map_ids = max;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	return (int)(info.nr_map_ids < max ? info.nr_map_ids : max);
}

/* The type behind const, volatile and typedefs. */
static const struct btf_type *resolve(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t &&
	       (btf_is_const(t) || btf_is_volatile(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	return t;
}

/* A char array's length, else 0: only strings are read. */
static __u32 char_array_len(const struct btf *btf, __u32 type_id)
{
	const struct btf_type *t = resolve(btf, type_id), *elem;

	if (!t || !btf_is_array(t))
		return 0;
	elem = resolve(btf, btf_array(t)->type);
	if (!elem || !btf_is_int(elem) || elem->size != 1)
		return 0;
	return btf_array(t)->nelems;
}

/* Copies a metadata string, printable ASCII only: it goes to terminals. */
static void copy_string(char *dst, size_t len, const char *src, size_t max)
{
	size_t i;

	for (i = 0; i + 1 < len && i < max && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/* Looks for the two variables in one map; true when it is a .rodata. */
static bool read_rodata(__u32 map_id, char *tool, size_t tool_len,
			char *version, size_t version_len)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	struct btf *btf = NULL;
	char *value = NULL;
	bool found = false;
	int fd, n;
	size_t name_len;

	fd = bpf_map_get_fd_by_id(map_id);
	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	name_len = strlen(info.name);
	/* libbpf names it after the object: "bmc_atta.rodata" */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 ||
	    info.max_entries != 1 || !info.btf_id || !info.btf_value_type_id ||
	    name_len < 7 || strcmp(info.name + name_len - 7, ".rodata"))
		goto out;
	found = true;
	value = calloc(1, info.value_size);
	if (!value || bpf_map_lookup_elem(fd, &zero, value))
		goto out;
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		goto out;
	sec = btf__type_by_id(btf, info.btf_value_type_id);
	if (!sec || !btf_is_datasec(sec))
		goto out;
	vsi = btf_var_secinfos(sec);
	n = btf_vlen(sec);
	for (int i = 0; i < n; i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);
		const char *name;
		__u32 size;

		if (!var || !btf_is_var(var))
			continue;
		name = btf__name_by_offset(btf, var->name_off);
		size = char_array_len(btf, var->type);
		if (!name || !size || vsi->offset + size > info.value_size)
			continue;
		if (!strcmp(name, "bpf_metadata_tool"))
			copy_string(tool, tool_len, value + vsi->offset, size);
		else if (!strcmp(name, "bpf_metadata_version"))
			copy_string(version, version_len, value + vsi->offset,
				    size);
	}
out:
	btf__free(btf);
	free(value);
	close(fd);
	return found;
}

void prog_metadata(__u32 prog_id, char *tool, size_t tool_len, char *version,
		   size_t version_len)
{
	__u32 ids[MAX_MAPS];
	int fd, n;

	tool[0] = version[0] = '\0';
	if (!prog_id)
		return;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0) {
		fp_debug("program %u: %s", prog_id, fp_strerror(-errno));
		return;
	}
	n = prog_map_ids(fd, ids, MAX_MAPS);
	close(fd);
	for (int i = 0; i < n; i++)
		if (read_rodata(ids[i], tool, tool_len, version, version_len))
			break;
}
