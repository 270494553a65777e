// SPDX-License-Identifier: GPL-2.0
/*
 * bmc-attach: load BMC, the in-kernel memcached cache, in front of a
 * memcached and leave it running (attach.c), remove it (detach.c), list
 * where it runs (status.c). The pinned state is described in state.c.
 *
 * This file holds the command table; `bmc-attach COMMAND ...` goes through
 * common/command.c, the forms without a command through alias.c.
 */
#include "bmc-attach.h"

static const char doc[] =
	"Attach BMC, an in-kernel cache for memcached, to an interface."
	"\v"
	"EXAMPLES:\n"
	"    bmc-attach attach eth0                     # for memcached on "
	"port 11211\n"
	"    bmc-attach attach eth0 --cache-size 256M   # a bigger cache\n"
	"    bmc-attach attach veth0 --netns mc         # an interface in "
	"netns mc\n"
	"    bmc-attach attach eth0 --max-age 60        # also values set "
	"before attach\n"
	"    bmc-attach attach eth0 --replace           # reload, e.g. after "
	"an upgrade\n"
	"    bmc-attach status                          # where BMC runs\n"
	"    bmc-attach detach eth0                     # remove it again\n"
	"    bmc-attach eth0 --cache-size 256M          # the old forms: "
	"attach,\n"
	"    bmc-attach --status                        #   status,\n"
	"    bmc-attach --detach eth0                   #   detach\n";

static const struct fp_command *const commands[] = {
	&attach_cmd,
	&detach_cmd,
	&status_cmd,
	NULL,
};

static const struct argp_child children[] = {
	{&fp_json_argp, 0, NULL, 0},
	{},
};

static const struct fp_tool tool = {
	.name = "bmc-attach",
	.doc = doc,
	.children = children,
	.commands = commands,
};

int main(int argc, char **argv)
{
	fp_init(tool.name);
	if (bmc_command_form(&tool, argc, argv))
		return fp_command_main(&tool, argc, argv);
	return alias_main(&tool, argc, argv);
}
