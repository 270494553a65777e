# syrup-thread: the thread layer's test workload (tests/syrup-thread-run.c);
# the scheduler itself (bpf/syrup-thread.bpf.c) is a skeleton of
# syrup-steer (mk/syrup-steer.mk). The BPF object declares its sched_ext
# types itself (6.18 has none).
EXTRA_BINS += $(BUILD)/syrup-thread-run

$(BUILD)/syrup-thread-run: tests/syrup-thread-run.c bpf/syrup-thread.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS) -lpthread

# bench/syrup-thread's workload: a short-request thread beside a pool of
# long-request threads.
EXTRA_BINS += $(BUILD)/syrup-thread-bench

$(BUILD)/syrup-thread-bench: tests/syrup-thread-bench.c bpf/syrup-thread.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS) -lpthread
