/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear histogram buckets, shared by BPF programs and user space.
 *
 * Values below 16 get a bucket each; above, every power of two is split
 * into 16 linear sub-buckets, so a bucket's width is at most 1/16 (6.25%)
 * of its lower bound. That keeps percentiles within a few percent, where
 * plain log2 buckets (bcc's) can be off by 2x. Printing folds the buckets
 * back into bcc-style log2 rows.
 *
 * Plain C with no includes so BPF code can use it too.
 */
#ifndef FASTPATH_HIST_SLOTS_H
#define FASTPATH_HIST_SLOTS_H

#define FP_HIST_SUB_BITS 4
#define FP_HIST_SUBS	 (1 << FP_HIST_SUB_BITS)
/* msb 63 -> slot (63 - 3) * 16 + 15 = 975 */
#define FP_HIST_SLOTS 976

static inline unsigned int fp_hist_msb(unsigned long long v)
{
	unsigned int r = 0, shift;

	/* Branch-free-ish binary search; the verifier likes bounded code. */
	shift = (v > 0xFFFFFFFFULL) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFFFFULL) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFFULL) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xFULL) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3ULL) << 1;
	v >>= shift;
	r |= shift;
	r |= (unsigned int)(v >> 1);
	return r;
}

static inline unsigned int fp_hist_slot(unsigned long long v)
{
	unsigned int msb;

	if (v < FP_HIST_SUBS)
		return (unsigned int)v;
	msb = fp_hist_msb(v);
	return ((msb - FP_HIST_SUB_BITS + 1) << FP_HIST_SUB_BITS) |
	       (unsigned int)((v >> (msb - FP_HIST_SUB_BITS)) &
			      (FP_HIST_SUBS - 1));
}

/* Smallest value that falls in `slot`. */
static inline unsigned long long fp_hist_slot_low(unsigned int slot)
{
	unsigned int group = slot >> FP_HIST_SUB_BITS;
	unsigned int sub = slot & (FP_HIST_SUBS - 1);

	if (group == 0)
		return slot;
	return (unsigned long long)(FP_HIST_SUBS | sub) << (group - 1);
}

#endif
