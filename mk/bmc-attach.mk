# bmc-attach: BPF_PROG_TEST_RUN helpers built from BMC's own skeleton.
#   bmc-xdp-test  unit tests of the XDP/TC programs (driven by tests/bmc-xdp.bats)
#   bmc-xdp-cost  in-kernel cost of one GET hit in ns (used by bench/bmc)
EXTRA_BINS += $(BUILD)/bmc-xdp-test $(BUILD)/bmc-xdp-cost

# bmc-xdp-test is main and TAP (tests/bmc-xdp-test.c) and a file per group
# of cases; tests/bmc-xdp-test.h says which.
BMC_XDP_TEST_SRCS := tests/bmc-xdp-test.c tests/bmc-xdp-model.c \
	tests/bmc-xdp-client.c tests/bmc-xdp-cases.c tests/bmc-xdp-streams.c \
	tests/bmc-xdp-fuzz.c
$(BUILD)/bmc-xdp-test: $(BMC_XDP_TEST_SRCS) tests/bmc-xdp-test.h tests/bmc-xdp-lib.h $(BUILD)/bmc-attach.skel.h bpf/bmc.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(BMC_XDP_TEST_SRCS) -o $@ $(LDLIBS)

$(BUILD)/bmc-xdp-cost: tests/bmc-xdp-cost.c tests/bmc-xdp-lib.h $(BUILD)/bmc-attach.skel.h bpf/bmc.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< -o $@ $(LDLIBS)

# The unit test of cache sizing, option values and command line forms links
# the tool's params.c.
$(BUILD)/tests/bmc-attach_params: tools/bmc-attach/params.c $(wildcard tools/bmc-attach/*.h)
$(BUILD)/tests/bmc-attach_params: CFLAGS += -Itools/bmc-attach

# Warm attach's metadump parsing links warm.c.
$(BUILD)/tests/bmc-attach_warm: tools/bmc-attach/warm.c $(wildcard tools/bmc-attach/*.h)
$(BUILD)/tests/bmc-attach_warm: CFLAGS += -Itools/bmc-attach
