/* SPDX-License-Identifier: GPL-2.0 */
/* The -i SECS / -n COUNT reporting loop every monitoring tool shares. */
#ifndef FASTPATH_INTERVAL_H
#define FASTPATH_INTERVAL_H

#include <stdbool.h>

/*
 * Called for each report. `final` is true for the last one (count reached,
 * or a signal cut an interval short). A non-zero return stops the loop and
 * becomes fp_report_loop's return value.
 */
typedef int (*fp_report_fn)(void *ctx, bool final);

enum fp_loop_mode {
	/* Without -i, report once right away (e.g. bmc-stat totals). */
	FP_LOOP_ONCE_NOW,
	/* Without -i, wait for Ctrl-C/SIGTERM, then report once (tracers). */
	FP_LOOP_ONCE_AT_EXIT,
};

/*
 * With -i: report every interval until -n reports were printed or a signal
 * arrives; a signal mid-interval gives one final report of the partial
 * interval. Installs the signal handlers itself.
 */
int fp_report_loop(enum fp_loop_mode mode, fp_report_fn report, void *ctx);

/* Sleeps up to `seconds`; returns false early when a signal arrived. */
bool fp_sleep(double seconds);

#endif
