# syrup-steer: the test server and load generator (tests/, bench/syrup), and
# where an installed syrup-steer looks for syrup.h when compiling policies.

CFLAGS_syrup-steer += -DSYRUP_PREFIX_INCLUDE='"$(PREFIX)/include/fastpath"'

EXTRA_BINS += $(BUILD)/syrup-server $(BUILD)/syrup-client $(BUILD)/syrup-xsk-server

$(BUILD)/syrup-server: tests/syrup-server.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lpthread -lm

# AF_XDP sockets on one queue for attach --xsk (plain syscalls, no libxdp).
$(BUILD)/syrup-xsk-server: tests/syrup-xsk-server.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(BUILD)/syrup-client: tests/syrup-client.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lpthread -lm

# The XDP dispatcher (one per interface) is a second skeleton, the thread
# layer's sched_ext scheduler a third, the daemon's watch (binds,
# listens, closes) a fourth.
SKELS_syrup-steer := $(BUILD)/syrup-dispatch.skel.h $(BUILD)/syrup-thread.skel.h \
	$(BUILD)/syrup-xsk.skel.h \
	$(BUILD)/syrup-watch.skel.h

# XDP layer and dispatcher through BPF_PROG_TEST_RUN (run by the BATS file).
EXTRA_BINS += $(BUILD)/syrup-xdp-test

$(BUILD)/syrup-xdp-test: tests/syrup-xdp-test.c $(BUILD)/syrup-steer.skel.h $(BUILD)/syrup-dispatch.skel.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# The unit test of policy settings (KEY=VALUE) links the tool's settings.c.
$(BUILD)/tests/syrup-steer_settings: tools/syrup-steer/settings.c $(wildcard tools/syrup-steer/*.h)
$(BUILD)/tests/syrup-steer_settings: CFLAGS += -Itools/syrup-steer
