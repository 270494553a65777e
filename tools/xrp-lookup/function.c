// SPDX-License-Identifier: GPL-2.0
/*
 * Storage functions: the built-ins, compiled natively from bpf/xrp/ into
 * the tool, or a user's FILE.c, compiled with cc into a shared object for
 * the user-space engines and with clang into a BPF stand-in for verify.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lookup.h"
#include "xrp-lookup.h"

#ifndef XRP_MULTIARCH
#define XRP_MULTIARCH "x86_64-linux-gnu"
#endif

/* The header users compile against, embedded so --function works anywhere. */
__asm__(".section .rodata\n"
	".global xrp_header_text\n"
	"xrp_header_text:\n"
	".incbin \"include/xrp.h\"\n"
	".byte 0\n"
	".previous\n");
extern const char xrp_header_text[];

/* Built-in storage functions, compiled natively from bpf/xrp/. */
unsigned int xrp_entry_bpfkv_get(struct bpf_xrp *ctx);
unsigned int xrp_entry_bpfkv_range(struct bpf_xrp *ctx);

int function_run_cmd(char *const argv[], char *out, size_t outlen)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, outlen - 1 - used);

		if (n <= 0)
			break;
		used += n;
		if (used == outlen - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

const char *function_error_line(char *out)
{
	char *line = strstr(out, "error");

	if (!line)
		line = out;
	else
		while (line > out && line[-1] != '\n')
			line--;
	line[strcspn(line, "\n")] = '\0';
	return line;
}

bool function_is_source(const char *spec)
{
	size_t n = spec ? strlen(spec) : 0;

	return n > 2 && !strcmp(spec + n - 2, ".c");
}

/*
 * One scratch directory per process, removed at exit: a global because
 * atexit() cleanup takes no argument; only this file sees it.
 */
static char tmpdir[64];

static void tmpdir_remove(void)
{
	static const char *const files[] = {"xrp.h", "fastpath/xrp.h", "fn.so",
					    "standin.c", "standin.o"};
	char path[128];

	if (!tmpdir[0])
		return;
	for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/fastpath", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
	tmpdir[0] = '\0';
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return fp_error("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f))
		return fp_error("cannot write %s: %s", path, strerror(errno));
	return 0;
}

/* The scratch directory with the header as <xrp.h> and <fastpath/xrp.h>. */
static int tmpdir_create(void)
{
	char path[128];

	if (tmpdir[0])
		return 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xrp-lookup.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		tmpdir[0] = '\0';
		return fp_error("cannot create a temporary directory: %s",
				strerror(errno));
	}
	atexit(tmpdir_remove);
	snprintf(path, sizeof(path), "%s/fastpath", tmpdir);
	if (mkdir(path, 0700))
		return fp_error("cannot create %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/xrp.h", tmpdir);
	if (write_file(path, xrp_header_text))
		return 1;
	snprintf(path, sizeof(path), "%s/fastpath/xrp.h", tmpdir);
	return write_file(path, xrp_header_text);
}

static int builtin_load(struct function *f, const char *spec, bool range)
{
	f->range = !strcmp(spec, "bpfkv-range");
	f->fn = f->range ? xrp_entry_bpfkv_range : xrp_entry_bpfkv_get;
	if (f->range != range)
		return fp_error("%s is a %s function; %s needs a %s function",
				spec, f->range ? "range" : "point lookup",
				range ? "range" : "this command",
				range ? "range" : "point lookup");
	return 0;
}

int function_load(struct function *f, const char *spec, bool range)
{
	char so[128], inc[80], out[4096];
	int rc;

	memset(f, 0, sizeof(*f));
	if (!spec)
		spec = range ? "bpfkv-range" : "bpfkv-get";
	f->name = spec;
	if (!strcmp(spec, "bpfkv-get") || !strcmp(spec, "bpfkv-range"))
		return builtin_load(f, spec, range);
	if (!function_is_source(spec))
		return fp_error("unknown function '%s': want bpfkv-get, "
				"bpfkv-range or a FILE.c",
				spec);
	if (access(spec, R_OK))
		return fp_error("cannot read %s: %s", spec, strerror(errno));
	if (tmpdir_create())
		return 1;
	snprintf(so, sizeof(so), "%s/fn.so", tmpdir);
	snprintf(inc, sizeof(inc), "-I%s", tmpdir);
	{
		char *argv[] = {"cc",	   "-O2",	 "-g",	       "-fPIC",
				"-shared", "-std=gnu11", "-Wall",      inc,
				"-o",	   so,		 (char *)spec, NULL};

		rc = function_run_cmd(argv, out, sizeof(out));
	}
	if (rc) {
		fp_debug("%s", out);
		return fp_error("cannot compile %s: %s (-v shows the compiler "
				"output)",
				spec,
				rc == 127 ? "cc is not installed"
					  : function_error_line(out));
	}
	f->dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	unlink(so);
	if (!f->dl)
		return fp_error("cannot load the compiled %s: %s", spec,
				dlerror());
	f->fn = (xrp_fn)dlsym(f->dl, "xrp_entry");
	if (!f->fn)
		return fp_error("%s defines no storage function (declare it "
				"with XRP_FUNCTION(name), see xrp.h)",
				spec);
	f->range = range;
	return 0;
}

int function_compile_standin(const char *file, char *obj, size_t len)
{
	char abs[PATH_MAX], src[160], inc[80], multi[96], out[4096];
	char *argv[] = {"clang", "-O2", "-g", "-target", "bpf", "-mcpu=v3", inc,
			multi,	 "-c",	src,  "-o",	 obj,	NULL};
	char *text;
	int err;

	if (!realpath(file, abs))
		return fp_error("cannot read %s: %s", file, strerror(errno));
	if (tmpdir_create())
		return 1;
	snprintf(src, sizeof(src), "%s/standin.c", tmpdir);
	snprintf(obj, len, "%s/standin.o", tmpdir);
	snprintf(inc, sizeof(inc), "-I%s", tmpdir);
	snprintf(multi, sizeof(multi), "-I/usr/include/%s", XRP_MULTIARCH);
	if (asprintf(&text, "#include \"xrp.h\"\n#include \"%s\"\n%s", abs,
		     XRP_STANDIN_SOURCE) < 0)
		return fp_error("out of memory");
	err = write_file(src, text);
	free(text);
	if (err)
		return 1;
	err = function_run_cmd(argv, out, sizeof(out));
	if (err) {
		fp_debug("%s", out);
		return fp_error("cannot compile %s for BPF: %s (-v shows "
				"the compiler output)",
				file,
				err == 127 ? "clang is not installed"
					   : function_error_line(out));
	}
	return 0;
}
