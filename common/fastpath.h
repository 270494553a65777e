/* SPDX-License-Identifier: GPL-2.0 */
/* Everything a fastpath tool includes from common/. */
#ifndef FASTPATH_H
#define FASTPATH_H

#include "attach.h"
#include "bpfcc.h"
#include "command.h"
#include "histogram.h"
#include "interval.h"
#include "json.h"
#include "log.h"
#include "netif.h"
#include "netlink.h"
#include "options.h"
#include "output.h"
#include "percpu.h"
#include "pin.h"
#include "privileges.h"
#include "probe.h"
#include "require.h"
#include "file.h"
#include "setup.h"
#include "signals.h"
#include "sockets.h"
#include "verifier.h"

/* Exit statuses shared by every tool: argp's usage errors exit 64. */
#define FP_EXIT_OK    0
#define FP_EXIT_FAIL  1
#define FP_EXIT_USAGE 64

#endif
