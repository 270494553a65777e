// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpfcc.h"
#include "log.h"
#include "options.h"
#include "verifier.h"

#define MAX_ARGS 96

extern char **environ;

int fp_bpfcc_init(struct fp_bpfcc *cc)
{
	memset(cc, 0, sizeof(*cc));
	if (snprintf(cc->dir, sizeof(cc->dir), "/tmp/%s.XXXXXX",
		     fp_tool_name) >= (int)sizeof(cc->dir))
		snprintf(cc->dir, sizeof(cc->dir), "/tmp/fastpath.XXXXXX");
	if (!mkdtemp(cc->dir)) {
		cc->dir[0] = '\0';
		return -errno;
	}
	return 0;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int fp_bpfcc_write(struct fp_bpfcc *cc, const char *name, const char *text,
		   char *path, size_t len)
{
	int n = snprintf(path, len, "%s/%s", cc->dir, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return write_text(path, text);
}

int fp_bpfcc_add_header(struct fp_bpfcc *cc, const char *name, const char *text)
{
	char path[256], sub[128];
	int err;

	snprintf(sub, sizeof(sub), "%s/fastpath", cc->dir);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -errno;
	err = fp_bpfcc_write(cc, name, text, path, sizeof(path));
	if (err)
		return err;
	snprintf(sub, sizeof(sub), "fastpath/%s", name);
	return fp_bpfcc_write(cc, sub, text, path, sizeof(path));
}

int fp_bpfcc_add_header_dir(struct fp_bpfcc *cc, const char *dir)
{
	char link[128];

	if (strlen(dir) >= sizeof(cc->hdr))
		return -ENAMETOOLONG;
	snprintf(cc->hdr, sizeof(cc->hdr), "%s", dir);
	snprintf(link, sizeof(link), "%s/fastpath", cc->dir);
	return symlink(dir, link) ? -errno : 0;
}

/* Reads all of fd; what does not fit in `out` is read and dropped. */
static void drain(int fd, char *out, size_t len)
{
	size_t used = 0;
	char sink[512];

	for (;;) {
		bool room = used + 1 < len;
		ssize_t n = read(fd, room ? out + used : sink,
				 room ? len - 1 - used : sizeof(sink));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			used += (size_t)n;
	}
	out[used] = '\0';
}

/* Runs argv; -errno if it cannot start, else its exit status (128: none). */
static int run(char **argv, char *out, size_t out_len)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1}, status, err;
	bool capture = out && out_len;
	pid_t pid;

	if (capture) {
		if (pipe2(pipefd, O_CLOEXEC))
			return -errno;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	}
	err = posix_spawnp(&pid, argv[0], capture ? &fa : NULL, NULL, argv,
			   environ);
	if (capture) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[1]);
		if (!err)
			drain(pipefd[0], out, out_len);
		close(pipefd[0]);
	}
	if (err)
		return -err;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 128;
	return WEXITSTATUS(status);
}

int fp_bpfcc_compile(struct fp_bpfcc *cc, const char *src,
		     const struct fp_bpfcc_opts *o)
{
	static const struct fp_bpfcc_opts defaults;
	char inc_hdr[sizeof(cc->hdr) + 8], inc_dir[80], inc_arch[128];
	char *argv[MAX_ARGS], *extra = NULL;
	int argc = 0, n, ret;
	struct utsname un;

	if (!o)
		o = &defaults;
	n = snprintf(cc->obj, sizeof(cc->obj), "%s/%s", cc->dir,
		     o->obj_name ? o->obj_name : "out.bpf.o");
	if (n < 0 || (size_t)n >= sizeof(cc->obj))
		return -ENAMETOOLONG;
	snprintf(inc_hdr, sizeof(inc_hdr), "-I%s", cc->hdr);
	snprintf(inc_dir, sizeof(inc_dir), "-I%s", cc->dir);
	if (o->multiarch) {
		snprintf(inc_arch, sizeof(inc_arch), "-I/usr/include/%s",
			 o->multiarch);
	} else {
		/* asm/types.h lives in Debian's multiarch directory */
		uname(&un);
		snprintf(inc_arch, sizeof(inc_arch),
			 "-I/usr/include/%s-linux-gnu",
			 !strcmp(un.machine, "arm64") ? "aarch64" : un.machine);
	}

	argv[argc++] = (char *)(o->clang ? o->clang : "clang");
	argv[argc++] = "-g";
	argv[argc++] = "-O2";
	argv[argc++] = "-target";
	argv[argc++] = "bpf";
	argv[argc++] = "-mcpu=v3"; /* atomics whose result is used */
	if (cc->hdr[0])
		argv[argc++] = inc_hdr;
	argv[argc++] = inc_dir;
	argv[argc++] = inc_arch;
	if (o->cflags) {
		char *save = NULL, *tok;

		extra = strdup(o->cflags);
		for (tok = extra ? strtok_r(extra, " \t", &save) : NULL;
		     tok && argc < MAX_ARGS - 5;
		     tok = strtok_r(NULL, " \t", &save))
			argv[argc++] = tok;
	}
	argv[argc++] = "-c";
	argv[argc++] = (char *)src;
	argv[argc++] = "-o";
	argv[argc++] = cc->obj;
	argv[argc] = NULL;

	if (fp_opts.verbose) {
		fprintf(stderr, "%s: compiling:", fp_tool_name);
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
	}
	ret = run(argv, o->output, o->output_len);
	free(extra);
	return ret;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void fp_bpfcc_cleanup(struct fp_bpfcc *cc)
{
	if (!cc->dir[0])
		return;
	/* FTW_PHYS: the fastpath/ link to a header directory is unlinked,
	 * never followed */
	nftw(cc->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	cc->dir[0] = '\0';
}

struct bpf_program *fp_bpfcc_only_program(struct bpf_object *obj,
					  const char *name)
{
	struct bpf_program *p, *found = NULL;

	bpf_object__for_each_program(p, obj)
	{
		bool mine = !strcmp(bpf_program__name(p), name);

		bpf_program__set_autoload(p, mine);
		if (mine)
			found = p;
	}
	return found;
}

int fp_bpfcc_load(struct bpf_object *obj, struct bpf_program *prog, char *log,
		  size_t len, int level)
{
	log[0] = '\0';
	bpf_program__set_log_buf(prog, log, len);
	if (level)
		bpf_program__set_log_level(prog, (__u32)level);
	return bpf_object__load(obj);
}

void fp_bpfcc_explain(char *log, const char *what, int context)
{
	struct fp_verifier_report r;

	fp_verifier_explain(log, context, &r);
	if (r.where[0])
		fp_error("the verifier refused %s: %s (at %s)", what, r.reason,
			 r.where);
	else
		fp_error("the verifier refused %s: %s", what, r.reason);
	fprintf(stderr, "verifier log (last lines; the '; ' lines are your "
			"source):\n");
	fp_verifier_print_tail(stderr, "  | ", &r);
}
