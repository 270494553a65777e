// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "privileges.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
	unsigned int flag;
	int cap;
	const char *name;
} caps[] = {
	{FP_CAP_BPF, CAP_BPF, "CAP_BPF"},
	{FP_CAP_PERFMON, CAP_PERFMON, "CAP_PERFMON"},
	{FP_CAP_NET_ADMIN, CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{FP_CAP_SYS_ADMIN, CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{FP_CAP_SYS_PTRACE, CAP_SYS_PTRACE, "CAP_SYS_PTRACE"},
};

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1U << (cap % 32));
}

int fp_check_privileges(unsigned int need)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	char wanted[128] = "", missing[128] = "";

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return fp_error("cannot read capabilities: %s",
				fp_strerror(errno));

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (!(need & caps[i].flag))
			continue;
		/* CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON. */
		bool ok = has_cap(data, caps[i].cap) ||
			  ((caps[i].flag & (FP_CAP_BPF | FP_CAP_PERFMON)) &&
			   has_cap(data, CAP_SYS_ADMIN));
		strncat(wanted, *wanted ? ", " : "",
			sizeof(wanted) - strlen(wanted) - 1);
		strncat(wanted, caps[i].name,
			sizeof(wanted) - strlen(wanted) - 1);
		if (!ok) {
			strncat(missing, *missing ? ", " : "",
				sizeof(missing) - strlen(missing) - 1);
			strncat(missing, caps[i].name,
				sizeof(missing) - strlen(missing) - 1);
		}
	}
	if (!*missing)
		return 0;
	return fp_error("need root or %s (missing: %s)", wanted, missing);
}
