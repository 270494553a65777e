# xrp-lookup: the built-in storage functions (bpf/xrp/*.c) are compiled twice:
# into the BPF object (for `verify`) and natively into the tool (for the
# pread and io_uring engines). liburing drives the uring engine; libdl loads
# users' functions.
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

# The tool embeds include/xrp.h (for users' functions) and knows the
# multiarch directory for compiling them as BPF.
$(BUILD)/xrp-lookup.o: CFLAGS += -DXRP_MULTIARCH='"$(XRP_MULTIARCH)"'
$(BUILD)/xrp-lookup.o: $(XRP_FN_SRCS)

# The kernel engine (io_uring BPF ops, Linux 7.1+): a loop_step program
# carrying the same function sources, and its user-space side in
# tools/xrp-lookup/, which also embeds the program's source so a user's
# function can be compiled into it at run time.
$(BUILD)/xrp-kernel.bpf.o: BPF_CFLAGS += -I/usr/include/$(XRP_MULTIARCH)
$(BUILD)/xrp-kernel.bpf.o: $(XRP_FN_SRCS) bpf/xrp-kernel.h
SKELS_xrp-lookup := $(BUILD)/xrp-kernel.skel.h
OBJS_xrp-lookup += $(BUILD)/tools/xrp-lookup/engine-kernel.o
$(BUILD)/tools/xrp-lookup/engine-kernel-load.o: bpf/xrp-kernel.bpf.c bpf/xrp-kernel.h bpf/metadata.h include/xrp.h
$(BUILD)/tools/xrp-lookup/engine-kernel.o: CFLAGS += -DXRP_MULTIARCH='"$(XRP_MULTIARCH)"'
# The tool's pieces in tools/xrp-lookup/, one concern a file.
OBJS_xrp-lookup += $(patsubst tools/%.c,$(BUILD)/tools/%.o,$(filter-out tools/xrp-lookup/engine-kernel.c,$(wildcard tools/xrp-lookup/*.c)))
CFLAGS_xrp-lookup += -DXRP_MULTIARCH='"$(XRP_MULTIARCH)"'
$(BUILD)/tools/xrp-lookup/function.o: include/xrp.h bpf/xrp-lookup.h
