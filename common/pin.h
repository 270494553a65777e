/* SPDX-License-Identifier: GPL-2.0 */
/* Pin directories under bpffs: state that outlives the tool. */
#ifndef FASTPATH_PIN_H
#define FASTPATH_PIN_H

#include <stdbool.h>
#include <stddef.h>

#define FP_BPFFS "/sys/fs/bpf"

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

#endif
