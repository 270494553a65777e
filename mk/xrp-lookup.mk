# xrp-lookup: the built-in storage functions (bpf/xrp/*.c) are compiled twice:
# into the BPF object (for `verify`) and natively into the tool (for the
# pread and io_uring engines). liburing drives the uring engine; libdl loads
# users' functions. The tool's own sources are tools/xrp-lookup/*.c.
XRP_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
XRP_FN_SRCS := $(wildcard bpf/xrp/*.c)
OBJS_xrp-lookup := $(patsubst bpf/xrp/%.c,$(BUILD)/xrp-fn/%.o,$(XRP_FN_SRCS))
LDLIBS_xrp-lookup := -luring -ldl -lpthread

$(BUILD)/xrp-fn/%.o: bpf/xrp/%.c include/xrp.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -DXRP_ENTRY_NAME=xrp_entry_$* -c $< -o $@

# The BPF side includes the function sources; linux/types.h needs the
# multiarch asm/ directory when it is not vmlinux.h.
$(BUILD)/xrp-lookup.bpf.o: BPF_CFLAGS += -I/usr/include/$(XRP_MULTIARCH)
$(BUILD)/xrp-lookup.bpf.o: $(XRP_FN_SRCS) bpf/xrp-lookup.h

# The kernel engine (io_uring BPF ops, Linux 7.1+): a loop_step program
# carrying the same function sources, a second skeleton.
$(BUILD)/xrp-kernel.bpf.o: BPF_CFLAGS += -I/usr/include/$(XRP_MULTIARCH)
$(BUILD)/xrp-kernel.bpf.o: $(XRP_FN_SRCS) bpf/xrp-kernel.h
SKELS_xrp-lookup := $(BUILD)/xrp-kernel.skel.h

# Users' functions are compiled at run time as BPF, so the tool knows the
# multiarch directory; and it embeds what they are compiled with:
# include/xrp.h (function.c) and the kernel engine's own program source
# (engine-kernel-load.c).
CFLAGS_xrp-lookup += -DXRP_MULTIARCH='"$(XRP_MULTIARCH)"'
$(BUILD)/tools/xrp-lookup/function.o: include/xrp.h bpf/xrp-lookup.h
$(BUILD)/tools/xrp-lookup/engine-kernel-load.o: bpf/xrp-kernel.bpf.c bpf/xrp-kernel.h bpf/metadata.h include/xrp.h
