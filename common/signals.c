// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "signals.h"

volatile sig_atomic_t fp_exiting;

static void on_signal(int sig)
{
	(void)sig;
	fp_exiting = 1;
}

void fp_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
