/* SPDX-License-Identifier: GPL-2.0 */
/* SIGINT and SIGTERM end a tool's loop cleanly; `timeout` sends SIGTERM. */
#ifndef FASTPATH_SIGNALS_H
#define FASTPATH_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t fp_exiting;

/* Installs handlers that only set fp_exiting (no SA_RESTART, so blocking
 * calls return EINTR and loops see the flag promptly). */
void fp_signals_install(void);

#endif
