/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Users' C turned into a loaded BPF program: compiled with clang in a
 * scratch directory against the tool's header (embedded in the tool, or a
 * directory on disk), one program of the object loaded, and the verifier's
 * refusal explained in a few lines.
 */
#ifndef FASTPATH_BPFCC_H
#define FASTPATH_BPFCC_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_program;

struct fp_bpfcc {
	char dir[64];	/* the scratch directory, "" until fp_bpfcc_init */
	char hdr[4096]; /* a header directory given on disk, or "" */
	char obj[160];	/* what the last fp_bpfcc_compile() wrote */
};

struct fp_bpfcc_opts {
	const char *clang;     /* NULL: "clang" */
	const char *cflags;    /* extra flags, split at blanks; or NULL */
	const char *multiarch; /* "x86_64-linux-gnu"; NULL: from uname */
	const char *obj_name;  /* in the scratch dir; NULL: "out.bpf.o" */
	char *output;	       /* clang's stdout and stderr go here, */
	size_t output_len;     /* NUL-terminated; NULL: to ours */
};

/* Creates /tmp/TOOL.XXXXXX. 0 or -errno. */
int fp_bpfcc_init(struct fp_bpfcc *cc);
/*
 * The tool's header, embedded in it: written as NAME and fastpath/NAME so
 * both #include <NAME> and #include <fastpath/NAME> work. 0 or -errno.
 */
int fp_bpfcc_add_header(struct fp_bpfcc *cc, const char *name,
			const char *text);
/*
 * Or a directory of headers on disk: on the include path, and linked as
 * fastpath/ (for #include <fastpath/NAME>). Not with fp_bpfcc_add_header.
 */
int fp_bpfcc_add_header_dir(struct fp_bpfcc *cc, const char *dir);
/* A generated file in the scratch dir (a wrapper, say); its path in `path`. */
int fp_bpfcc_write(struct fp_bpfcc *cc, const char *name, const char *text,
		   char *path, size_t len);
/*
 * clang -g -O2 -target bpf -mcpu=v3 -I... CFLAGS -c SRC -o DIR/OBJ_NAME
 * (the command is shown with -v). 0 with the object in cc->obj; -errno
 * when clang cannot be run; clang's exit status (> 0) when it failed.
 */
int fp_bpfcc_compile(struct fp_bpfcc *cc, const char *src,
		     const struct fp_bpfcc_opts *opts);
/* Removes the scratch directory and everything in it. */
void fp_bpfcc_cleanup(struct fp_bpfcc *cc);

/*
 * Marks `name` as the only program of `obj` to load: the program, or NULL
 * when the object has none of that name.
 */
struct bpf_program *fp_bpfcc_only_program(struct bpf_object *obj,
					  const char *name);
/*
 * bpf_object__load() keeping the verifier's log of `prog` in `log`
 * (`level` 0: written only when the load fails). 0 or a negative error.
 */
int fp_bpfcc_load(struct bpf_object *obj, struct bpf_program *prog, char *log,
		  size_t len, int level);
/*
 * "TOOL: the verifier refused WHAT: REASON (at FILE:LINE: SOURCE)" and the
 * last `context` lines of the log, on stderr.
 */
void fp_bpfcc_explain(char *log, const char *what, int context);

#endif
