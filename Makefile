# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# pymemwatch: `make` builds ./pymemwatch; `make test` runs every test;
# `make check` only the unit tests (no root); `make demo` runs it on a
# bundled workload. V=1 shows full commands.

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

USER_INC := -Iuser -Iuser/cpython -Iuser/target -Iuser/leak -Iuser/output
CFLAGS ?= -g -O2 -Wall -Wextra -Wno-unused-parameter -Wmissing-field-initializers
ALL_CFLAGS := $(CFLAGS) $(EXTRA_CFLAGS) -D_GNU_SOURCE -DPMW_VERSION='"$(VERSION)"' \
	-Iinclude $(USER_INC) -I$(OUTPUT) $(LIBBPF_CFLAGS)
LDLIBS := $(LIBBPF_LDLIBS) -lelf -llzma -lz -lcapstone -lcap -ljansson -lmicrohttpd $(NCURSES_LDLIBS) -lm -lpthread
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

# user/ and its four wings (user/*/README: what each may use)
USER_DIRS := user user/cpython user/target user/leak user/output
USER_SRCS := $(foreach d,$(USER_DIRS),$(wildcard $(d)/*.c))
USER_HDRS := $(foreach d,$(USER_DIRS),$(wildcard $(d)/*.h))
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(USER_SRCS))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

.PHONY: all clean install deps demo test check test-unit test-integration vmlinux

all: pymemwatch

deps:
	$(Q)./scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/tests $(patsubst user/%,$(OUTPUT)/%,$(filter-out user,$(USER_DIRS))):
	$(Q)mkdir -p $@

$(OUTPUT)/pymemwatch.bpf.o: bpf/pymemwatch.bpf.c $(wildcard include/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/pymemwatch.skel.h: $(OUTPUT)/pymemwatch.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pmw_bpf > $@

$(USER_OBJS): $(OUTPUT)/pymemwatch.skel.h $(USER_HDRS) $(wildcard include/*.h)

# The revision --version names: a `make dist` tarball's REVISION file, else git's. The
# header changes only when the revision does (then release.o is rebuilt).
GIT_REV := $(shell cat REVISION 2>/dev/null || git describe --always --dirty --abbrev=12 2>/dev/null \
	|| echo unknown)
$(OUTPUT)/version.h: FORCE | $(OUTPUT)
	$(Q)echo '#define PMW_GIT_REV "$(GIT_REV)"' > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
$(OUTPUT)/release.o: $(OUTPUT)/version.h
.PHONY: FORCE
FORCE:

# The HTML report template, compiled in as report_template_html[] (user/report.c)
$(OUTPUT)/report_template.h: user/output/report_template.html | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)cd user/output && xxd -i report_template.html > $(abspath $@)

$(OUTPUT)/output/report.o: $(OUTPUT)/report_template.h

$(OUTPUT)/%.o: user/%.c | $(OUTPUT) $(patsubst user/%,$(OUTPUT)/%,$(filter-out user,$(USER_DIRS)))
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

pymemwatch: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# bash completion, generated from the option table (hidden --bash-completion)
$(OUTPUT)/pymemwatch.bash: pymemwatch
	$(call msg,GEN,$@)
	$(Q)./pymemwatch --bash-completion > $@

# (rebuilt when a header changes too: the test's own code includes them)
$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) $(USER_HDRS) $(wildcard include/*.h) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $(filter %.c %.o,$^) $(LDLIBS) -lcmocka -o $@

# ./pymemwatch-static: one x86-64 executable with no shared library dependency (BPF
# object embedded, as in ./pymemwatch; stripped, the unstripped one stays in
# $(STATIC_OUTPUT)/), built with PMW_STATIC (no dlopen: debuginfod is unavailable there)
# against Debian's static archives and a libmicrohttpd without TLS that
# scripts/build-static-deps.sh builds once (Debian's needs GnuTLS, p11-kit, NSS).
STATIC_OUTPUT ?= .output-static
PMW_STATIC_DIR ?= /var/cache/pymemwatch/static
STATIC_LDLIBS := -Wl,--start-group -lbpf -lelf -lz -llzma -lcapstone -lcap -ljansson \
	$(PMW_STATIC_DIR)/mhd/lib/libmicrohttpd.a -lncursesw -ltinfo -lm -lpthread -Wl,--end-group

.PHONY: static
static:
	$(Q)./scripts/build-static-deps.sh $(PMW_STATIC_DIR)
	$(Q)$(MAKE) OUTPUT=$(STATIC_OUTPUT) \
		EXTRA_CFLAGS="$(EXTRA_CFLAGS) -DPMW_STATIC -I$(PMW_STATIC_DIR)/mhd/include" \
		$(STATIC_OUTPUT)/pymemwatch-static
	$(Q)strip -o pymemwatch-static $(STATIC_OUTPUT)/pymemwatch-static
	$(call msg,STATIC,pymemwatch-static,$$(stat -c %s pymemwatch-static) bytes)

# (for `make install STATIC=1` when it was never built)
pymemwatch-static:
	$(Q)$(MAKE) static

$(OUTPUT)/pymemwatch-static: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) -static $(LDFLAGS) $^ $(STATIC_LDLIBS) -o $@

# make install [STATIC=1] [PREFIX=/usr/local] [DESTDIR=]: the dynamic ./pymemwatch, or with
# STATIC=1 ./pymemwatch-static (`make static` first), as bin/pymemwatch; the man page; the
# bash completion (generated from the option table).
INSTALL_BIN := $(if $(STATIC),pymemwatch-static,pymemwatch)
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: $(INSTALL_BIN) $(OUTPUT)/pymemwatch.bash
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX),($(INSTALL_BIN)))
	$(Q)install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(PREFIX)/bin/pymemwatch
	$(Q)install -D -m 0644 doc/pymemwatch.8 $(DESTDIR)$(PREFIX)/share/man/man8/pymemwatch.8
	$(Q)install -D -m 0644 $(OUTPUT)/pymemwatch.bash $(DESTDIR)$(BASHCOMPDIR)/pymemwatch

# make dist: dist/pymemwatch-VERSION.tar.gz (every tracked file at HEAD, plus REVISION),
# dist/pymemwatch-VERSION-x86_64-static (make static) and dist/SHA256SUMS of both.
DIST := dist
DIST_NAME := pymemwatch-$(VERSION)
.PHONY: dist
dist: static
	$(call msg,DIST,$(DIST)/)
	$(Q)rm -rf $(DIST) && mkdir -p $(DIST)/$(DIST_NAME)
	$(Q)git diff --quiet HEAD || echo "dist: uncommitted changes: the tarball is HEAD, the binary is the work tree" >&2
	$(Q)git describe --always --abbrev=12 HEAD > $(DIST)/$(DIST_NAME)/REVISION
	$(Q)git archive --format=tar --prefix=$(DIST_NAME)/ HEAD > $(DIST)/$(DIST_NAME).tar
	$(Q)tar -C $(DIST) -rf $(DIST)/$(DIST_NAME).tar --owner=0 --group=0 $(DIST_NAME)/REVISION
	$(Q)gzip -9n $(DIST)/$(DIST_NAME).tar && rm -rf $(DIST)/$(DIST_NAME)
	$(Q)cp pymemwatch-static $(DIST)/$(DIST_NAME)-x86_64-static
	$(Q)cd $(DIST) && sha256sum $(DIST_NAME).tar.gz $(DIST_NAME)-x86_64-static > SHA256SUMS
	$(Q)cd $(DIST) && ls -l $(DIST_NAME).tar.gz $(DIST_NAME)-x86_64-static && cat SHA256SUMS

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
.PHONY: bench bench-independent
bench: deps
	$(Q)$(MAKE) all
	$(Q)/usr/bin/python3 scripts/bench.py $(BENCH_ARGS)

# the same measurement on third-party programs from Debian packages (bench/independent)
bench-independent: deps
	$(Q)$(MAKE) all
	$(Q)/usr/bin/python3 scripts/bench.py --set independent $(BENCH_ARGS)

# 10 minutes against 20 churning targets: pymemwatch's RSS flat, every row there
.PHONY: soak
SOAK_SECONDS ?= 600
soak: deps
	$(Q)$(MAKE) all
	$(Q)/usr/bin/python3 scripts/soak.py --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

test-unit: all $(UNIT_BINS)
	$(Q)./scripts/run-tests.sh unit

# Unprivileged, under a minute: the unit tests, the golden-file tests of the
# outputs first (tests/unit/test_output_golden.c, test_fields.c); installs nothing.
check: $(UNIT_BINS)
	$(Q)./scripts/run-tests.sh unit

test-integration: all
	$(Q)./scripts/run-tests.sh integration

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) $(STATIC_OUTPUT) pymemwatch pymemwatch-static

.DELETE_ON_ERROR:
.SECONDARY:

# --- Fuzzing (libFuzzer, clang) and sanitizer builds; not part of `make test`.
# `make fuzz` builds tests/fuzz/fuzz_*.c with -fsanitize=fuzzer,address,undefined
# and runs each harness FUZZ_SECONDS, adding new inputs to tests/fuzz/corpus/<harness>/;
# crashes are written to $(FUZZ_OUT)/. `make fuzz-smoke` only replays the corpora.
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_HARNESSES := fuzz_pyline fuzz_elf fuzz_csv fuzz_version fuzz_pystack fuzz_holders fuzz_symfind fuzz_walk
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/,$(FUZZ_HARNESSES))
# the user/ files each harness needs: no libbpf, no skeleton
FUZZ_SRCS_fuzz_pyline := user/cpython/pyline.c
FUZZ_SRCS_fuzz_elf := user/elfimg.c user/util.c
FUZZ_SRCS_fuzz_csv := user/util.c
FUZZ_SRCS_fuzz_version := user/util.c
# pmw_mem_read() comes from the harness: the input is the target's memory
FUZZ_SRCS_fuzz_pystack := user/cpython/pystack.c user/cpython/pyline.c user/cpython/pyver.c user/util.c
FUZZ_SRCS_fuzz_holders := user/leak/holders.c user/leak/retained.c user/cpython/pyobj.c user/cpython/pystack.c \
	user/cpython/pyline.c user/cpython/pyver.c user/util.c
# the heap walk: pools, type objects and items from the input (no heap.c: the harness lists pools)
FUZZ_SRCS_fuzz_walk := user/leak/walk.c user/cpython/pyobj.c user/cpython/pystack.c \
	user/cpython/pyline.c user/cpython/pyver.c user/util.c
FUZZ_LIBS_fuzz_elf := -lelf -llzma -lz
# the input is the image and the target's memory (pmw_mem_read from fuzz_mem.h)
FUZZ_SRCS_fuzz_symfind := user/target/symfind.c user/elfimg.c user/cpython/pyver.c user/util.c
FUZZ_LIBS_fuzz_symfind := -lelf -llzma -lz -lcapstone
FUZZ_MAXLEN_fuzz_symfind := 65536
FUZZ_MAXLEN_fuzz_pyline := 4096
FUZZ_MAXLEN_fuzz_elf := 65536
FUZZ_MAXLEN_fuzz_csv := 1024
FUZZ_MAXLEN_fuzz_version := 256
FUZZ_MAXLEN_fuzz_pystack := 4096
FUZZ_MAXLEN_fuzz_holders := 65535
FUZZ_MAXLEN_fuzz_walk := 65536

.PHONY: fuzz fuzz-build fuzz-smoke test-asan
.SECONDEXPANSION:

$(FUZZ_OUT) $(FUZZ_OUT)/seed-elf:
	$(Q)mkdir -p $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_fuzz_%) $(USER_HDRS) | $(FUZZ_OUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -D_GNU_SOURCE -Iinclude $(USER_INC) $< $(FUZZ_SRCS_fuzz_$*) \
		$(FUZZ_LIBS_fuzz_$*) -lm -o $@

# tiny ELF seeds (an executable, a stripped one, a shared object with DT_NEEDED/RUNPATH,
# the stripped one with MiniDebugInfo)
$(FUZZ_OUT)/seed-elf/tiny-exe: tests/fuzz/tiny_elf.c | $(FUZZ_OUT)/seed-elf
	$(call msg,CC,$@)
	$(Q)$(CC) -Os -nostdlib -static -Wl,--build-id -Wl,-z,noseparate-code $< -o $@
	$(Q)$(CC) -Os -nostdlib -static -s -Wl,--build-id -Wl,-z,noseparate-code $< -o $@-stripped
	$(Q)$(CC) -Os -fPIC -shared -nostdlib -Wl,--build-id -Wl,-z,noseparate-code \
		-Wl,--no-as-needed -lc -Wl,-rpath,/opt/py/lib -Wl,--enable-new-dtags $< -o $@.so
	$(Q)objcopy --only-keep-debug $@ $@.dbg && xz -f $@.dbg && \
		objcopy --add-section .gnu_debugdata=$@.dbg.xz $@-stripped $@-minidebuginfo && rm -f $@.dbg.xz

fuzz-build: $(FUZZ_BINS) $(FUZZ_OUT)/seed-elf/tiny-exe

fuzz: fuzz-build
	$(Q)set -e; for h in $(FUZZ_HARNESSES); do \
		mkdir -p tests/fuzz/corpus/$$h $(FUZZ_OUT)/artifacts/$$h; \
		seeds=; [ $$h != fuzz_elf ] && [ $$h != fuzz_symfind ] || seeds=$(FUZZ_OUT)/seed-elf; \
		printf '  %-8s %s (%ss)\n' FUZZ $$h $(FUZZ_SECONDS); \
		$(FUZZ_OUT)/$$h -max_total_time=$(FUZZ_SECONDS) -max_len=$$(case $$h in \
			fuzz_pyline) echo $(FUZZ_MAXLEN_fuzz_pyline);; fuzz_elf) echo $(FUZZ_MAXLEN_fuzz_elf);; \
			fuzz_csv) echo $(FUZZ_MAXLEN_fuzz_csv);; \
			fuzz_pystack) echo $(FUZZ_MAXLEN_fuzz_pystack);; \
			fuzz_holders) echo $(FUZZ_MAXLEN_fuzz_holders);; \
			fuzz_symfind) echo $(FUZZ_MAXLEN_fuzz_symfind);; \
			fuzz_walk) echo $(FUZZ_MAXLEN_fuzz_walk);; *) echo $(FUZZ_MAXLEN_fuzz_version);; esac) \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_OUT)/artifacts/$$h/ \
			tests/fuzz/corpus/$$h $$seeds > $(FUZZ_OUT)/$$h.log 2>&1 \
			|| { tail -n 40 $(FUZZ_OUT)/$$h.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' $(FUZZ_OUT)/$$h.log | sed 's/^/           /'; \
	done

# every corpus input once, no mutation (a few seconds in all)
fuzz-smoke: fuzz-build
	$(Q)set -e; for h in $(FUZZ_HARNESSES); do \
		seeds=; [ $$h != fuzz_elf ] && [ $$h != fuzz_symfind ] || seeds=$(FUZZ_OUT)/seed-elf; \
		printf '  %-8s %s\n' FUZZ-RUN $$h; \
		$(FUZZ_OUT)/$$h -runs=0 tests/fuzz/corpus/$$h $$seeds > $(FUZZ_OUT)/$$h.smoke.log 2>&1 \
			|| { tail -n 40 $(FUZZ_OUT)/$$h.smoke.log; exit 1; }; \
	done

# Unit tests and the integration suite against an ASan+UBSan build in
# $(ASAN_OUTPUT)/ (./pymemwatch is untouched; BPF objects are not sanitized).
# Sanitizer reports go to $(ASAN_OUTPUT)/asan.<pid> and fail the target.
ASAN_OUTPUT ?= .output-asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_ENV = ASAN_OPTIONS=log_path=$(abspath $(ASAN_OUTPUT))/asan:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$(abspath $(ASAN_OUTPUT))/ubsan:print_stacktrace=1

$(OUTPUT)/pymemwatch: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

test-asan:
	$(Q)$(MAKE) OUTPUT=$(ASAN_OUTPUT) EXTRA_CFLAGS="$(EXTRA_CFLAGS) $(ASAN_FLAGS)" \
		LDFLAGS="$(LDFLAGS) $(ASAN_FLAGS)" \
		$(ASAN_OUTPUT)/pymemwatch $(patsubst $(OUTPUT)/%,$(ASAN_OUTPUT)/%,$(UNIT_BINS))
	$(Q)rm -f $(ASAN_OUTPUT)/asan.* $(ASAN_OUTPUT)/ubsan.*
	$(Q)fail=0; for t in $(patsubst $(OUTPUT)/%,$(ASAN_OUTPUT)/%,$(UNIT_BINS)); do \
		printf '  %-8s %s\n' ASAN $$t; \
		$(ASAN_ENV) $$t > $$t.log 2>&1 || { tail -n 30 $$t.log; fail=1; }; \
	done; \
	printf '  %-8s %s\n' ASAN "integration ($(ASAN_OUTPUT)/pymemwatch)"; \
	$(ASAN_ENV) PYMEMWATCH=$(abspath $(ASAN_OUTPUT))/pymemwatch PYTHONDONTWRITEBYTECODE=1 \
		/usr/bin/python3 -m pytest -p no:cacheprovider -q -rs tests/integration $(ASAN_PYTEST_ARGS) \
		|| fail=1; \
	for r in $(ASAN_OUTPUT)/asan.* $(ASAN_OUTPUT)/ubsan.*; do \
		[ -e "$$r" ] || continue; echo "=== $$r"; cat "$$r"; fail=1; \
	done; \
	exit $$fail
