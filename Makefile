# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# pymemwatch: `make` builds ./pymemwatch; `make test` runs every test;
# `make demo` runs it on a bundled workload. V=1 shows full commands.

OUTPUT := .output
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
PYTHON ?= python3
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := 0.1.0

VMLINUX := vmlinux/$(ARCH)/vmlinux.h
ifeq ($(wildcard $(VMLINUX)),)
$(error $(VMLINUX) missing: run scripts/gen-vmlinux.sh)
endif

LIBBPF_CFLAGS ?= $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LDLIBS ?= $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
NCURSES_LDLIBS ?= $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null || echo -lncursesw)

CFLAGS ?= -g -O2 -Wall -Wextra -Wno-unused-parameter -Wmissing-field-initializers
ALL_CFLAGS := $(CFLAGS) $(EXTRA_CFLAGS) -D_GNU_SOURCE -DPMW_VERSION='"$(VERSION)"' \
	-Iinclude -Iuser -I$(OUTPUT) $(LIBBPF_CFLAGS)
LDLIBS := $(LIBBPF_LDLIBS) -lelf -lz -lcapstone -ljansson -lmicrohttpd $(NCURSES_LDLIBS) -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(dir $(VMLINUX)) -Iinclude

# Let clang find the system's asm/ headers for BPF (libbpf-bootstrap idiom)
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s%s\n' "$(1)" "$(patsubst $(abspath $(OUTPUT))/%,%,$(2))" "$(if $(3), $(3))";
	MAKEFLAGS += --no-print-directory
endif

USER_SRCS := $(wildcard user/*.c)
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all clean install deps demo test test-unit test-integration vmlinux

all: pymemwatch

deps:
	$(Q)./scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/pymemwatch.bpf.o: bpf/pymemwatch.bpf.c include/pmw.h $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/pymemwatch.skel.h: $(OUTPUT)/pymemwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pmw_bpf > $@

$(USER_OBJS): $(OUTPUT)/pymemwatch.skel.h $(wildcard user/*.h) include/pmw.h

$(OUTPUT)/%.o: user/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

pymemwatch: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

install: pymemwatch
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 pymemwatch $(DESTDIR)$(PREFIX)/bin/pymemwatch
	$(Q)install -D -m 0644 doc/pymemwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/pymemwatch.8

vmlinux:
	$(Q)./scripts/gen-vmlinux.sh

# The two set-up commands of README.md: both install what is missing first.
demo: deps
	$(Q)$(MAKE) all
	$(Q)./scripts/demo.sh

test: deps
	$(Q)$(MAKE) all $(UNIT_BINS)
	$(Q)./scripts/run-tests.sh

# What watching costs the target, per workload and mode (scripts/bench.py);
# BENCH_ARGS=--quick for a ~5 minute run.
.PHONY: bench
bench: deps
	$(Q)$(MAKE) all
	$(Q)/usr/bin/python3 scripts/bench.py $(BENCH_ARGS)

test-unit: all $(UNIT_BINS)
	$(Q)./scripts/run-tests.sh unit

test-integration: all
	$(Q)./scripts/run-tests.sh integration

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) pymemwatch

.DELETE_ON_ERROR:
.SECONDARY:
