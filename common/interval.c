// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "interval.h"
#include "options.h"
#include "signals.h"

bool fp_sleep(double seconds)
{
	struct timespec deadline;
	double whole;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_nsec += (long)(modf(seconds, &whole) * 1e9);
	deadline.tv_sec += (time_t)whole + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;

	/* Absolute deadline: EINTR from unrelated signals does not stretch it.
	 */
	while (!fp_exiting) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					  &deadline, NULL);
		if (err == 0)
			break;
		if (err != EINTR)
			return false;
	}
	return !fp_exiting;
}

int fp_report_loop(enum fp_loop_mode mode, fp_report_fn report, void *ctx)
{
	uint64_t done = 0;
	int err;

	fp_signals_install();

	if (!fp_opts.interval) {
		/* Short naps, not pause(): a signal landing between the
		 * check and the wait must not leave us asleep. */
		while (mode == FP_LOOP_ONCE_AT_EXIT && !fp_exiting)
			fp_sleep(0.2);
		return report(ctx, true);
	}

	for (;;) {
		bool full = fp_sleep(fp_opts.interval);
		bool last =
			!full || (fp_opts.count && done + 1 >= fp_opts.count);

		err = report(ctx, last);
		done++;
		if (err || last)
			return err;
	}
}
