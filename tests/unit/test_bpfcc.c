// SPDX-License-Identifier: GPL-2.0
/*
 * Users' C compiled for BPF against a header embedded in the tool or kept
 * in a directory: the scratch directory, clang's failures (not installed,
 * compile errors captured), extra flags, picking one program of an object,
 * and a verifier refusal explained down to the source line. Needs clang;
 * loading needs CAP_BPF. Either missing is a skip.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpfcc.h"
#include "log.h"
#include "verifier.h"
#include "unit.h"

static const char header[] = "#define FPUNIT_VALUE 2\n";

static const char good[] =
	"#include <linux/bpf.h>\n"
	"#include <bpf/bpf_helpers.h>\n"
	"#include <fastpath/fpunit.h>\n"
	"#include <fpunit.h>\n"
	"#ifndef EXTRA\n"
	"#error EXTRA must come from the extra flags\n"
	"#endif\n"
	"SEC(\"socket\") int good(struct __sk_buff *skb)\n"
	"{\n"
	"\treturn FPUNIT_VALUE + EXTRA;\n"
	"}\n"
	"SEC(\"socket\") int bad(struct __sk_buff *skb)\n"
	"{\n"
	"\treturn *(int *)(long)skb->data; /* no such field here */\n"
	"}\n"
	"char LICENSE[] SEC(\"license\") = \"GPL\";\n";

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void load_checks(const char *obj_path)
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	struct fp_verifier_report r;
	static char log[1 << 16];
	struct bpf_program *p;

	p = obj ? fp_bpfcc_only_program(obj, "good") : NULL;
	UNIT_CHECK(p && !fp_bpfcc_only_program(obj, "nosuch"),
		   "program: picked by name, NULL for an absent one");
	bpf_object__close(obj);

	obj = bpf_object__open_file(obj_path, NULL);
	p = fp_bpfcc_only_program(obj, "good");
	if (fp_bpfcc_load(obj, p, log, sizeof(log), 0) == -EPERM) {
		UNIT_SKIP("no CAP_BPF", "load: the good program");
		UNIT_SKIP("no CAP_BPF", "load: the bad one refused");
		bpf_object__close(obj);
		return;
	}
	UNIT_CHECK(bpf_program__fd(p) >= 0, "load: only the good program");
	bpf_object__close(obj);

	obj = bpf_object__open_file(obj_path, NULL);
	p = fp_bpfcc_only_program(obj, "bad");
	UNIT_CHECK(fp_bpfcc_load(obj, p, log, sizeof(log), 0) < 0 && log[0],
		   "load: the bad one refused, with the verifier's log");
	fp_verifier_explain(log, 3, &r);
	UNIT_CHECK(strstr(r.reason, "invalid bpf_context access") &&
			   strstr(r.where, "prog.c:14"),
		   "load: the reason and the source line (%s; %s)", r.reason,
		   r.where);
	bpf_object__close(obj);
}

int main(void)
{
	struct fp_bpfcc cc, cc2;
	struct fp_bpfcc_opts o = {.cflags = "-DEXTRA=1  -Wall"};
	char src[256], path[300], out[4096], hdrdir[] = "/tmp/fp-hdr-XXXXXX";
	char obj[sizeof(cc.obj)], dir2[sizeof(cc2.dir)];
	int err;

	fp_tool_name = "fp-unit";
	libbpf_set_print(NULL);
	UNIT_CHECK(fp_bpfcc_init(&cc) == 0 &&
			   !strncmp(cc.dir, "/tmp/fp-unit.", 13),
		   "scratch: a directory named after the tool");
	UNIT_CHECK(fp_bpfcc_add_header(&cc, "fpunit.h", header) == 0,
		   "header: the embedded text written");
	snprintf(path, sizeof(path), "%s/fastpath/fpunit.h", cc.dir);
	UNIT_CHECK(exists(path), "header: also as fastpath/NAME");
	UNIT_CHECK(fp_bpfcc_write(&cc, "prog.c", good, src, sizeof(src)) == 0,
		   "write: a generated source");

	o.clang = "/nonexistent/clang";
	UNIT_CHECK(fp_bpfcc_compile(&cc, src, &o) == -ENOENT,
		   "compile: a missing clang is -ENOENT");
	o.clang = NULL;
	if (system("clang --version >/dev/null 2>&1")) {
		UNIT_SKIP("no clang", "compile");
		fp_bpfcc_cleanup(&cc);
		return unit_done();
	}
	o.output = out;
	o.output_len = sizeof(out);
	err = fp_bpfcc_compile(&cc, src, &o);
	UNIT_CHECK(err == 0 && exists(cc.obj) && strstr(cc.obj, "out.bpf.o"),
		   "compile: against the embedded header, extra flags given "
		   "(%d: %s)",
		   err, out);
	snprintf(obj, sizeof(obj), "%s", cc.obj);
	o.cflags = NULL;
	o.obj_name = "other.bpf.o";
	err = fp_bpfcc_compile(&cc, src, &o);
	UNIT_CHECK(err > 0 && strstr(out, "EXTRA must come"),
		   "compile: a failure is clang's status, its output kept");
	o.cflags = "-DEXTRA=1";
	load_checks(obj);

	/* a header directory on disk instead, as an installed tool has */
	mkdtemp(hdrdir);
	snprintf(path, sizeof(path), "%s/fpunit.h", hdrdir);
	fclose(fopen(path, "w"));
	fp_bpfcc_init(&cc2);
	UNIT_CHECK(fp_bpfcc_add_header_dir(&cc2, hdrdir) == 0,
		   "header dir: linked as fastpath/");
	err = fp_bpfcc_compile(&cc2, src, &o);
	UNIT_CHECK(err > 0 && strstr(out, "FPUNIT_VALUE"),
		   "header dir: its (empty) header is the one used");
	snprintf(dir2, sizeof(dir2), "%s", cc2.dir);
	fp_bpfcc_cleanup(&cc2);
	UNIT_CHECK(!exists(dir2) && exists(path),
		   "cleanup: the link goes, the directory it names stays");
	unlink(path);
	rmdir(hdrdir);

	snprintf(path, sizeof(path), "%s", cc.dir);
	fp_bpfcc_cleanup(&cc);
	UNIT_CHECK(!exists(path) && !cc.dir[0],
		   "cleanup: the scratch directory and all in it removed");
	fp_bpfcc_cleanup(&cc);
	return unit_done();
}
