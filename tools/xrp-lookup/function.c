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

/*
 * Runs a compiler: its exit status (127: not installed), or -errno; its
 * output, both streams, in out.
 */
static int run_cmd(char *const argv[], char *out, size_t outlen)
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
 * One scratch directory per process, removed at exit, with the header as
 * <xrp.h> and <fastpath/xrp.h>: a global because atexit() cleanup takes
 * no argument; only this file sees it.
 */
static struct fp_bpfcc scratch;

static void scratch_remove(void)
{
	fp_bpfcc_cleanup(&scratch);
}

static int scratch_create(void)
{
	int err;

	if (scratch.dir[0])
		return 0;
	err = fp_bpfcc_init(&scratch);
	if (err)
		return fp_error("cannot create a temporary directory: %s",
				fp_strerror(err));
	atexit(scratch_remove);
	err = fp_bpfcc_add_header(&scratch, "xrp.h", xrp_header_text);
	if (err)
		return fp_error("cannot write xrp.h into %s: %s", scratch.dir,
				fp_strerror(err));
	return 0;
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
	if (scratch_create())
		return 1;
	snprintf(so, sizeof(so), "%s/fn.so", scratch.dir);
	snprintf(inc, sizeof(inc), "-I%s", scratch.dir);
	{
		char *argv[] = {"cc",	   "-O2",	 "-g",	       "-fPIC",
				"-shared", "-std=gnu11", "-Wall",      inc,
				"-o",	   so,		 (char *)spec, NULL};

		rc = run_cmd(argv, out, sizeof(out));
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

int function_compile_bpf(struct fp_bpfcc *cc, const char *file,
			 const char *name, const char *tail, const char *cflags,
			 const char *purpose)
{
	char abs[PATH_MAX], src[PATH_MAX], src_name[64], obj_name[64];
	char out[4096], *text;
	struct fp_bpfcc_opts o = {.cflags = cflags,
				  .multiarch = XRP_MULTIARCH,
				  .obj_name = obj_name,
				  .output = out,
				  .output_len = sizeof(out)};
	int err;

	if (!realpath(file, abs))
		return fp_error("cannot read %s: %s", file, strerror(errno));
	if (asprintf(&text, "#include \"xrp.h\"\n#include \"%s\"\n%s", abs,
		     tail) < 0)
		return fp_error("out of memory");
	snprintf(src_name, sizeof(src_name), "%s.c", name);
	snprintf(obj_name, sizeof(obj_name), "%s.o", name);
	err = fp_bpfcc_write(cc, src_name, text, src, sizeof(src));
	free(text);
	if (err)
		return fp_error("cannot write %s: %s", src, fp_strerror(err));
	out[0] = '\0';
	err = fp_bpfcc_compile(cc, src, &o);
	if (err) {
		fp_debug("%s", out);
		return fp_error("cannot compile %s %s: %s (-v shows the "
				"compiler output)",
				file, purpose,
				err == -ENOENT ? "clang is not installed"
				: err < 0      ? fp_strerror(err)
					       : function_error_line(out));
	}
	return 0;
}

int function_compile_standin(const char *file, char *obj, size_t len)
{
	if (scratch_create() ||
	    function_compile_bpf(&scratch, file, "standin", XRP_STANDIN_SOURCE,
				 NULL, "for BPF"))
		return 1;
	snprintf(obj, len, "%s", scratch.obj);
	return 0;
}
