# bmc-stat is a plain libbpf user-space tool (no BPF program of its own).
# Helpers for BMC's integration tests, demo and benchmark:
#   mc-req    a memcached text-protocol client (UDP with the frame header, or TCP)
#   xdp-pass  attaches an XDP_PASS program (veth peers need one for XDP_TX)
#   mc-load   a batched UDP GET load generator (sendmmsg/recvmmsg, or raw
#             frames with the replies counted by the mc-sink XDP program)
#   mc-echo.bpf.o  an XDP program that bounces requests: bench/bmc's ceiling
EXTRA_BINS += $(BUILD)/mc-req $(BUILD)/xdp-pass $(BUILD)/mc-load \
	      $(BUILD)/mc-echo.bpf.o

$(BUILD)/mc-req: tests/mc-req.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/xdp-pass: tests/xdp-pass.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/mc-sink.bpf.o $(BUILD)/mc-echo.bpf.o: $(BUILD)/%.bpf.o: bench/bmc.d/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/mc-sink.skel.h: $(BUILD)/mc-sink.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mc_sink_bpf > $@.tmp && mv $@.tmp $@

# mc-load.c: the UDP socket mode and main; mc-load-raw.c: -x IFACE.
$(BUILD)/mc-load: bench/bmc.d/mc-load.c bench/bmc.d/mc-load-raw.c bench/bmc.d/mc-load.h $(BUILD)/mc-sink.skel.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c,$^) -o $@ -lm $(LDLIBS)
