# nudge: the outreach daemon (nudged) and its command-line tool (nudgectl).
#
#   make demo     install what is missing, build, run a throwaway demo
#   make check    install what is missing, build, run every test, then run
#                 them again built with AddressSanitizer and UBSan
#   make bench    the benchmarks of bench/ (figures go to docs/performance.md)
#   make fuzz     the libFuzzer targets (FUZZ_SECONDS each)
#   make install  PREFIX=/usr/local DESTDIR=
#
# Sources are found by folder, so adding a module is adding its .c/.h pair:
# every core/ rules/ templates/ queues/ channels/ daemon/ file goes into
# libnudge.a, except the two programs' main files.

PREFIX   ?= /usr/local
DESTDIR  ?=
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

.PHONY: all deps deps-bench check test test-build demo bench fuzz install \
        clean format

all: $(BUILD)/nudged $(BUILD)/nudgectl

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call show,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libnudge.a: $(LIB_OBJ)
	@rm -f $@
	$(call show,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/nudged: $(BUILD)/daemon/nudged.o $(BUILD)/libnudge.a \
                channels/plugin_api.syms
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(PLUGIN_LDFLAGS) -o $@ $(filter %.o %.a, $^) $(LDLIBS)

$(BUILD)/nudgectl: $(BUILD)/cli/nudgectl.o $(BUILD)/libnudge.a
	$(call show,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

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

fuzz:
	@scripts/deps.sh fuzz
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SRC)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/nudge/etc
	install -m 755 $(BUILD)/nudged $(BUILD)/nudgectl $(DESTDIR)$(PREFIX)/bin/
	cp -R etc/. $(DESTDIR)$(PREFIX)/share/nudge/etc/
	sed 's|/usr/local|$(PREFIX)|g' etc/nudged.service \
		>$(DESTDIR)$(PREFIX)/share/nudge/etc/nudged.service

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
