// SPDX-License-Identifier: GPL-2.0
/* Verifier logs summarised: reason, source line, context, statistics. */
#include <stdlib.h>

#include "unit.h"
#include "verifier.h"

int main(void)
{
	char oob[] = "func#0 @0\n"
		     "0: R1=ctx() R10=fp0\n"
		     "; return p[100] & 3; @ bad.c:6\n"
		     "5: (71) r0 = *(u8 *)(r1 +100)\n"
		     "invalid access to packet, off=100 size=1, "
		     "R1(id=0,off=100,r=0)\n"
		     "R1 offset is outside of the packet\n"
		     "processed 6 insns (limit 1000000) max_states_per_insn 0\n"
		     "\n";
	char loop[] = "0: (b7) r1 = 0\n"
		      "1: (05) goto pc-1\n"
		      "infinite loop detected at insn 1\n"
		      "verification time 12 usec\n"
		      "stack depth 0\n"
		      "processed 3 insns (limit 1000000)\n";
	char bare[] = "BPF program is too large. Processed 1000001 insn\n";
	char empty[] = "";
	struct fp_verifier_report r;

	fp_verifier_explain(oob, 3, &r);
	UNIT_STREQ(r.reason,
		   "invalid access to packet, off=100 size=1, "
		   "R1(id=0,off=100,r=0); "
		   "R1 offset is outside of the packet",
		   "verifier: the complaint after the last instruction");
	UNIT_STREQ(r.where, "bad.c:6: return p[100] & 3;",
		   "verifier: source line of the refused instruction");
	UNIT_CHECK(r.insns_processed == 6, "verifier: processed insns");
	UNIT_STREQ(r.tail,
		   "5: (71) r0 = *(u8 *)(r1 +100)\n"
		   "invalid access to packet, off=100 size=1, "
		   "R1(id=0,off=100,r=0)\n"
		   "R1 offset is outside of the packet",
		   "verifier: context ends at the reason, statistics cut");

	fp_verifier_explain(loop, 1, &r);
	UNIT_STREQ(r.reason, "infinite loop detected at insn 1",
		   "verifier: loop reason");
	UNIT_STREQ(r.where, "", "verifier: no line info, no source line");
	UNIT_STREQ(r.tail, "infinite loop detected at insn 1",
		   "verifier: one line of context");

	fp_verifier_explain(bare, 5, &r);
	UNIT_STREQ(r.reason, "BPF program is too large. Processed 1000001 insn",
		   "verifier: a log without instructions gives its last line");

	fp_verifier_explain(empty, 5, &r);
	UNIT_CHECK(strstr(r.reason, "no reason given") != NULL,
		   "verifier: an empty log says so");
	return unit_done();
}
