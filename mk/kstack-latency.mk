# kstack-latency: bench/kstack-latency's calibration helper (what bpf_stats
# charges an empty program per run).
EXTRA_BINS += $(BUILD)/bpf-stats-floor

$(BUILD)/bpf-stats-floor: tests/bpf-stats-floor.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
