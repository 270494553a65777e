/* SPDX-License-Identifier: GPL-2.0 */
/*
 * syrup-steer's thread layer: the types user space shares with the
 * scheduler live in the installed include/syrup-sched.h (the header thread
 * policies are written against). Pins under SYRUP_THREAD_PIN_DIR:
 *   link   the struct_ops link: while it is pinned, the scheduler runs
 *   conf   struct syrup_thread_conf (one entry)
 *   info   struct syrup_thread_info (one entry): what attach was given
 *   hints  tid (u32) -> enum syrup_thread_hint (u32): the application's
 *          own map; `syrup-steer set --layer thread hint.TID=short` too
 *   placed tid -> executor | hint << 24 (sticky placements)
 *   stats  per-CPU struct syrup_thread_stat per executor, last slot
 *          (SYRUP_THREAD_MAX_EXEC) for the threads placed by nobody
 *   state  the policies' round-robin counters
 */
#ifndef FASTPATH_SYRUP_THREAD_H
#define FASTPATH_SYRUP_THREAD_H

#include "syrup-sched.h"

#endif
