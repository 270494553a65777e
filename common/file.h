/* SPDX-License-Identifier: GPL-2.0 */
/* Small reads of kernel files (/proc, /sys): a file's first line. */
#ifndef FASTPATH_FILE_H
#define FASTPATH_FILE_H

#include <stddef.h>

/*
 * The first line of path into buf, without its newline. 0, or -errno with
 * buf "" (no such file, unreadable, empty).
 */
int fp_read_line(const char *path, char *buf, size_t len);

#endif
