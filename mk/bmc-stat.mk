# bmc-stat is a plain libbpf user-space tool (no BPF program of its own).
# Helpers for BMC's integration tests, demo and benchmark:
#   mc-req    a memcached text-protocol client (UDP with the frame header, or TCP)
#   xdp-pass  attaches an XDP_PASS program (veth peers need one for XDP_TX)
#   mc-load   a batched UDP GET load generator (sendmmsg/recvmmsg)
EXTRA_BINS += $(BUILD)/mc-req $(BUILD)/xdp-pass $(BUILD)/mc-load

$(BUILD)/mc-req: tests/mc-req.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/xdp-pass: tests/xdp-pass.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/mc-load: bench/bmc.d/mc-load.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lm
