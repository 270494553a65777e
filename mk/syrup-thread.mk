# syrup-thread: the thread layer's prototype loader and workload (tests/).
# The BPF object declares its sched_ext types itself (6.18 has none).
EXTRA_BINS += $(BUILD)/syrup-thread-run

$(BUILD)/syrup-thread-run: tests/syrup-thread-run.c $(BUILD)/syrup-thread.skel.h bpf/syrup-thread.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS) -lpthread
