# nudge: the outreach daemon (nudged) and its command-line tool (nudgectl).
#
#   make demo     install what is missing, build, run a throwaway demo
#   make check    install what is missing, build, run every test, then run
#                 them again built with AddressSanitizer and UBSan
#   make bench    the benchmarks of bench/ (figures go to docs/performance.md)
#   make fuzz     the libFuzzer targets (FUZZ_SECONDS each)
#   make install  PREFIX=/usr/local SYSCONFDIR=/etc DESTDIR= (docs/operations.md,
#                 "Installing"); make uninstall
#
# Sources are found by folder, so adding a module is adding its .c/.h pair:
# every core/ rules/ templates/ queues/ channels/ daemon/ file goes into
# libnudge.a, except the two programs' main files.

PREFIX   ?= /usr/local
DESTDIR  ?=
SYSCONFDIR ?= /etc
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/nudge
UNITDIR  ?= $(PREFIX)/lib/systemd/system
CONFDIR  := $(SYSCONFDIR)/nudge
# The one version of both programs (--version, the man pages' footer).
VERSION  := $(shell cat VERSION)
MANPAGES := man/nudgectl.1 man/nudged.conf.5 man/nudge.rules.5 man/nudged.8
BUILD    ?= build
CC       := gcc
PKGS     := hiredis jansson libpcre2-8 libcurl libesmtp-1.0 libmicrohttpd inih \
            libssl libcrypto
OPT      ?= -O2
SAN      ?=

ifeq ($(SAN),1)
BUILD    := build/san
OPT      := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
endif

# Recursive (=) so that pkg-config runs only when a recipe needs it: `make
# deps` must work before the libraries are installed.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CFLAGS   = -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Wshadow \
           -Wno-unused-parameter -MMD -MP -I. $(PKG_CFLAGS)
LDLIBS   = $(PKG_LIBS) -lpthread -lm

MAINS    := daemon/nudged.c cli/nudgectl.c
LIB_SRC  := $(filter-out $(MAINS), $(wildcard core/*.c rules/*.c \
            templates/*.c queues/*.c channels/*.c daemon/*.c cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
SUP_SRC  := $(wildcard tests/support/*.c)
SUP_OBJ  := $(SUP_SRC:%.c=$(BUILD)/%.o)
# what programs that are not Check tests may link
SUP_NOCK := $(filter-out %/check_run.o, $(SUP_OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC:= $(wildcard bench/*.c)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# Channel plugins for the tests (tests/plugins/, not in libnudge.a), and
# the functions the programs that open channels export to plugins: those
# of channels/plugin_api.syms and no others (channels/plugin.h). dlopen()
# is in glibc's libc since 2.34 (Debian 12 has 2.36): no -ldl.
PLUGINS  := $(BUILD)/plugins/example.so $(BUILD)/plugins/oldabi.so
PLUGIN_API := $(shell sed -n 's/^ *\([a-z_]*\);$$/\1/p' \
              channels/plugin_api.syms)
PLUGIN_LDFLAGS := -Wl,--dynamic-list=channels/plugin_api.syms \
                  $(PLUGIN_API:%=-Wl,-u,%)
FUZZ_SECONDS ?= 300

# Quiet by default, a line per file made ("  CC  core/redis.o"); V=1
# prints every command whole.
V ?= 0
ifeq ($(V),0)
Q = @
show = @printf '  %-4s %s\n' $(1) $(2)
else
Q =
show = @:
endif

.PHONY: all deps deps-bench check test test-build demo bench bench-quick \
        fuzz install uninstall clean format

all: $(BUILD)/nudged $(BUILD)/nudgectl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call show,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/daemon/nudged.o $(BUILD)/cli/nudgectl.o: VERSION
$(BUILD)/daemon/nudged.o $(BUILD)/cli/nudgectl.o: \
    CFLAGS += -DNUDGE_VERSION='"$(VERSION)"'

$(BUILD)/libnudge.a: $(LIB_OBJ)
	@rm -f $@
	$(call show,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/nudged: $(BUILD)/daemon/nudged.o $(BUILD)/libnudge.a \
                channels/plugin_api.syms
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(PLUGIN_LDFLAGS) -o $@ $(filter %.o %.a, $^) $(LDLIBS)

# nudgectl check opens the channels as nudged does, plugins included:
# it exports the plugin API too.
$(BUILD)/nudgectl: $(BUILD)/cli/nudgectl.o $(BUILD)/libnudge.a \
                   channels/plugin_api.syms
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(PLUGIN_LDFLAGS) -o $@ $(filter %.o %.a, $^) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(SUP_OBJ) $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

# Test drivers the integration tests run (tests/tools/NAME.c, one program
# each), linked like the daemon.
$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(SUP_NOCK) $(BUILD)/libnudge.a \
                  channels/plugin_api.syms
	@mkdir -p $(dir $@)
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(PLUGIN_LDFLAGS) -o $@ $(filter %.o %.a, $^) $(LDLIBS)

# The example plugin, and the same built for an older ABI (which nudge
# must refuse).
$(BUILD)/plugins/example.so: tests/plugins/example_channel.c
	@mkdir -p $(dir $@)
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/plugins/oldabi.so: tests/plugins/example_channel.c
	@mkdir -p $(dir $@)
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared -DEXAMPLE_ABI=1 -o $@ $<

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(SUP_NOCK) $(BUILD)/libnudge.a
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

JOBS := $(shell nproc 2>/dev/null || echo 2)

# --- the two commands of the README --------------------------------------

deps:
	@scripts/deps.sh build

deps-bench:
	@scripts/deps.sh bench

test-build: all $(UNIT_BIN) $(TOOL_BIN) $(PLUGINS)

# Runs the suite on the normal build and under the sanitizers (both at
# once: tests/run.sh), each build using every core.
check:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory -j$(JOBS) test-build
	@$(MAKE) --no-print-directory -j$(JOBS) test-build SAN=1
	@tests/run.sh build build/san

test: test-build
	@tests/run.sh $(BUILD)

demo:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bench/run.sh $(BUILD)

# Every benchmark at a small size, under 2 minutes: one JSON line per
# figure, also in bench/out/quick.jsonl; `bench/quick.sh compare OLD NEW`
# flags rates more than 20% worse (docs/performance.md, Quick benchmark).
# The node peers are optional here: a script runs without one not installed.
bench-quick:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@bench/quick.sh $(BUILD)

fuzz:
	@scripts/deps.sh fuzz
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SRC)

# Installs what was built in $(BUILD) (it builds only what is missing or
# out of date). The config, rules, templates and calendars go to
# $(CONFDIR) only where absent: an operator's files are never overwritten
# (and new example rules never start sending by themselves); the examples
# are always in $(DOCDIR)/examples. The unit's paths follow SBINDIR and
# SYSCONFDIR. Users and folders outside these: docs/operations.md.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(CONFDIR)
	install -m 755 $(BUILD)/nudgectl $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/nudged $(DESTDIR)$(SBINDIR)/
	for m in $(MANPAGES); do \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' \
		etc/nudged.service.in >$(DESTDIR)$(UNITDIR)/nudged.service
	chmod 644 $(DESTDIR)$(UNITDIR)/nudged.service
	scripts/install-tree.sh etc $(DESTDIR)$(DOCDIR)/examples always \
		nudged.conf rules templates calendars
	scripts/install-tree.sh etc $(DESTDIR)$(CONFDIR) if-absent \
		nudged.conf rules templates
	scripts/install-tree.sh etc $(DESTDIR)$(CONFDIR) each calendars

# Leaves $(CONFDIR): the operator's config, rules and secrets.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nudgectl $(DESTDIR)$(SBINDIR)/nudged \
		$(DESTDIR)$(UNITDIR)/nudged.service
	for m in $(MANPAGES); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; \
	done
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "uninstall: $(DESTDIR)$(CONFDIR) kept (your config and rules)"

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
