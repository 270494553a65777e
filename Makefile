# fastpath: build, test, demo and benchmark entry points.
#
#   make            build every tool into build/
#   make check      install missing packages, build, lint, run all tests
#                   (the kernel matrix's smoke tests included)
#   make check-kernels  the whole suite inside each Debian kernel (qemu)
#   make demo       run every tool in a throw-away sandbox
#   make bench      run every benchmark under bench/
#   make install    install tools, man pages, completions, headers
#   make deb        build the Debian package (build/fastpath_VERSION_ARCH.deb)
#
# V=1 shows the commands.

# The version lives in VERSION; -V adds the commit it was built from.
VERSION    := $(shell cat VERSION)
COMMIT     := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=

CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
              -DFASTPATH_VERSION='"$(VERSION)"' -DFASTPATH_COMMIT='"$(COMMIT)"' \
              -I$(BUILD) -Icommon -Ibpf -Iinclude
LDLIBS     += -lbpf -lmnl -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
              -DFASTPATH_VERSION='"$(VERSION)"' \
              -Wall -Werror -I$(BUILD) -Ibpf -Icommon -Iinclude

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# A tool is tools/NAME.c, or a directory tools/NAME/ (main.c and one file
# per command or concern) linked into one binary.
TOOL_DIRS   := $(patsubst tools/%/main.c,%,$(wildcard tools/*/main.c))
TOOLS       := $(patsubst tools/%.c,%,$(wildcard tools/*.c)) $(TOOL_DIRS)
BPF_SRCS    := $(wildcard bpf/*.bpf.c)
BPF_OBJS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS       := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(patsubst common/%.c,$(BUILD)/common/%.o,$(COMMON_SRCS))
LIBCOMMON   := $(BUILD)/libfastpath.a
UNIT_SRCS   := $(wildcard tests/unit/*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
BINS        := $(addprefix $(BUILD)/,$(TOOLS))
MANS        := $(wildcard man/*.[0-9])
COMPLETIONS := $(filter-out completions/zsh,$(wildcard completions/*))
ZSH_COMPLETIONS := $(wildcard completions/zsh/_*)
HEADERS     := $(wildcard include/*.h)
UNITS       := $(patsubst systemd/%.in,%,$(wildcard systemd/*.service.in))
SBINDIR     ?= $(PREFIX)/sbin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR  ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)

.PHONY: all deps deps-test check check-kernels unit lint lint-man demo bench install uninstall deb clean format
.DELETE_ON_ERROR:
# Keep skeletons and objects: they are inputs of later builds, not litter.
.SECONDARY:

all: $(BINS)

# Per-tool build additions (extra libraries, helper programs) live in mk/*.mk
# so tools can grow without editing this file. Each may add to EXTRA_BINS.
EXTRA_BINS :=
-include $(wildcard mk/*.mk)
all: $(EXTRA_BINS)

# Build dependencies only; deps-test adds what check, demo and bench need.
deps:
	$(Q)scripts/deps build

deps-test:
	$(Q)scripts/deps test

$(BUILD) $(BUILD)/common $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	$(Q)if [ ! -r $(VMLINUX_BTF) ]; then \
		echo "fastpath: $(VMLINUX_BTF) is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is required)" >&2; \
		exit 1; fi
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# -V prints the commit: rebuild what embeds it when HEAD moves.
$(BUILD)/version.stamp: FORCE | $(BUILD)
	$(Q)echo '$(VERSION) $(COMMIT)' | cmp -s - $@ || echo '$(VERSION) $(COMMIT)' > $@
FORCE:
$(BUILD)/common/options.o: $(BUILD)/version.stamp

$(BUILD)/common/%.o: common/%.c $(wildcard common/*.h) | $(BUILD)/common
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# A tool's object needs its own skeleton (bpf/NAME.bpf.c) and any others it
# names in SKELS_NAME; it may link extra objects (OBJS_NAME) and libraries
# (LDLIBS_NAME). Set those in mk/NAME.mk.
.SECONDEXPANSION:
$(BUILD)/%.o: tools/%.c $$(if $$(wildcard bpf/$$*.bpf.c),$(BUILD)/$$*.skel.h) $$(SKELS_$$*) $(wildcard common/*.h) $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%: $(BUILD)/%.o $$(OBJS_$$*) $(LIBCOMMON)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS_$*) $(LDLIBS)

# Directory tools: tools/NAME/FILE.c -> $(BUILD)/tools/NAME/FILE.o. Every
# file may include the tool's skeletons and its private header(s).
$(BUILD)/tools/%.o: tools/%.c $$(if $$(wildcard bpf/$$(firstword $$(subst /, ,$$*)).bpf.c),$(BUILD)/$$(firstword $$(subst /, ,$$*)).skel.h) $$(SKELS_$$(firstword $$(subst /, ,$$*))) $$(wildcard tools/$$(firstword $$(subst /, ,$$*))/*.h) $(wildcard common/*.h) $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(CFLAGS_$(firstword $(subst /, ,$*))) -Itools/$(firstword $(subst /, ,$*)) -c $< -o $@

define dir_tool
$(BUILD)/$(1): $(patsubst tools/%.c,$(BUILD)/tools/%.o,$(wildcard tools/$(1)/*.c)) $$(OBJS_$(1)) $(LIBCOMMON)
	$$(call msg,LINK,$$@)
	$$(Q)$$(CC) $$(CFLAGS) $$(LDFLAGS) $$^ -o $$@ $$(LDLIBS_$(1)) $$(LDLIBS)
endef
$(foreach t,$(TOOL_DIRS),$(eval $(call dir_tool,$(t))))

# A unit test may link a tool's own sources, named as extra prerequisites in
# mk/NAME.mk; they go before the library they use.
$(BUILD)/tests/%: tests/unit/%.c $(LIBCOMMON) $(wildcard tests/unit/*.h) $(wildcard common/*.h) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.c,$^) $(filter %.a,$^) -o $@ $(LDLIBS)

unit: $(UNIT_BINS)

lint-man:
	$(Q)mandoc -T lint -W warning $(MANS)

# Habits enforced: C is clang-format clean, shell is shellcheck clean. BATS
# files at warning level, less what their idioms do on purpose: each test is
# a subshell (SC2030/1), setup_file exports fp_name results (SC2155), key
# and argument lists are split unquoted (SC2046, SC2207).
# tests/xrp-lookup.d/ holds xrp.h's worked example verbatim, aligned by hand.
C_SOURCES   = $(filter-out tests/xrp-lookup.d/%,$(shell git ls-files '*.c' '*.h' 2>/dev/null || find tools bpf common include tests -name '*.[ch]'))
SH_SCRIPTS  = $(shell grep -lE '^\#!.*\b(ba)?sh\b' scripts/* tests/run tests/vm/* tests/promtool bench/* demo/* 2>/dev/null)
BATS_FILES  = $(wildcard tests/*.bats tests/vm/*.bats) tests/helpers.bash
lint: lint-man
	$(Q)clang-format --dry-run -Werror $(C_SOURCES)
	$(Q)shellcheck -x $(SH_SCRIPTS)
	$(Q)shellcheck -s bash -S warning -e SC2030,SC2031,SC2155,SC2046,SC2207 $(BATS_FILES)

check: deps-test
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)FP_BUILD=$(abspath $(BUILD)) tests/run

# The whole suite inside each of Debian's kernels under qemu (slow: about
# 10 minutes a kernel). KERNELS picks them.
KERNELS ?= 5.10 6.1 6.12 sid
check-kernels: deps-test
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)for k in $(KERNELS); do echo "# kernel $$k"; \
		FP_VM_TIMEOUT=3600 FP_VM_ENV="FP_BUILD FP_KERNELS" FP_KERNELS= \
		FP_BUILD=$(abspath $(BUILD)) tests/vm/run $$k tests/run || exit 1; done

demo: deps-test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)demo/run

bench: deps-test
	$(Q)$(MAKE) --no-print-directory all
	$(Q)for b in bench/*; do [ -f "$$b" ] && [ -x "$$b" ] || continue; \
		echo "== $$b"; "$$b" || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
		$(DESTDIR)$(PREFIX)/include/fastpath
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	$(if $(MANS),install -m 0644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man8/)
	$(if $(COMPLETIONS),install -m 0644 $(COMPLETIONS) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/)
	$(if $(ZSH_COMPLETIONS),install -m 0644 $(ZSH_COMPLETIONS) $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/)
	$(if $(HEADERS),install -m 0644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/fastpath/)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	# systemd units name the binaries where they are installed.
	for u in $(UNITS); do sed 's|@SBINDIR@|$(SBINDIR)|g' systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/fastpath-bmc ] || \
		install -m 0644 systemd/fastpath-bmc.default $(DESTDIR)$(SYSCONFDIR)/default/fastpath-bmc

# The Debian package (dpkg-deb, dpkg-shlibdeps from dpkg-dev).
deb: all
	$(Q)scripts/mkdeb $(abspath $(BUILD))

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/sbin/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man8/,$(notdir $(MANS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/bash-completion/completions/,$(notdir $(COMPLETIONS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/,$(notdir $(ZSH_COMPLETIONS)))
	rm -rf $(DESTDIR)$(PREFIX)/include/fastpath
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))

format:
	clang-format -i $(C_SOURCES)

clean:
	rm -rf $(BUILD)
