/* SPDX-License-Identifier: GPL-2.0 */
/* Pin directories under bpffs: state that outlives the tool. */
#ifndef FASTPATH_PIN_H
#define FASTPATH_PIN_H

#include <stdbool.h>
#include <stddef.h>

#define FP_BPFFS "/sys/fs/bpf"
/*
 * Roots that more than one tool reads: bmc-attach pins BMC_PIN_ROOT/IFACE/
 * (the layout is in bpf/bmc.h), bmc-stat reads it.
 */
#define BMC_PIN_ROOT FP_BPFFS "/bmc"

/* Creates `dir` and missing parents with mode 0700. 0 or -errno. */
int fp_pin_dir_create(const char *dir);
bool fp_pin_dir_exists(const char *dir);
/*
 * Unpins everything in `dir`, removes it, then removes parents that became
 * empty up to (not including) `stop_at`, e.g. "/sys/fs/bpf". 0 or -errno;
 * a missing dir is -ENOENT so callers can say "nothing to detach".
 */
int fp_pin_dir_remove(const char *dir, const char *stop_at);
/* snprintf into buf with a clear error instead of silent truncation. */
int fp_pin_path(char *buf, size_t len, const char *dir, const char *name);

/*
 * Pinned objects by directory and name, so callers need no path buffers.
 * Each returns -errno on failure (errno is left set for messages).
 */
/* bpf_obj_get(DIR/NAME): an fd. */
int fp_pin_open(const char *dir, const char *name);
/* bpf_obj_pin(fd, DIR/NAME): 0. */
int fp_pin_fd(int fd, const char *dir, const char *name);
/* Looks `key` up in the map pinned at DIR/NAME into `value`: 0. */
int fp_pin_lookup(const char *dir, const char *name, const void *key,
		  void *value);
bool fp_pin_exists(const char *dir, const char *name);

#endif
