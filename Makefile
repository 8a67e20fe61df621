# pinlab: `make` builds bench/pinbench, `make check` runs the tests,
# `make deps` installs the Debian packages they need.
CC ?= gcc
CXX ?= g++
# the revision is a build input: build/rev.h changes when it does, and the
# objects that record it are rebuilt
REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
PB_CFLAGS = $(WARN) -std=gnu11 -D_GNU_SOURCE -I$(BUILD) $(CFLAGS)
PB_CXXFLAGS = $(WARN) -std=c++17 $(CXXFLAGS)
LDLIBS := -lbenchmark -lpthread -lnuma -luring

BUILD ?= build
Q ?= @ # make Q= shows the commands
LIB_SRC := $(wildcard bench/lib/*.c) $(wildcard bench/backings/*.c) \
	   $(wildcard bench/probes/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
GB_OBJ := $(BUILD)/bench/gbench/gbench.o
TESTS := $(patsubst bench/tests/%.c,$(BUILD)/tests/%,$(wildcard bench/tests/test_*.c))

.SECONDARY:
.PHONY: all deps check unit integration lint format asan clean FORCE
all: bench/pinbench bench/pinsem

bench/pinbench: $(BUILD)/bench/pinbench.o $(LIB_OBJ) $(GB_OBJ)
	$(CXX) -o $@ $^ $(LDLIBS)

bench/pinsem: $(BUILD)/bench/pinsem.o $(LIB_OBJ)
	$(CC) -o $@ $^ -lnuma -luring

$(BUILD)/rev.h: FORCE
	@mkdir -p $(dir $@)
	@echo '#define PINLAB_REV "$(REV)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/bench/pinbench.o: $(BUILD)/rev.h

$(BUILD)/%.o: %.c $(wildcard bench/*/*.h)
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(PB_CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.cc bench/gbench/gbench.h
	@mkdir -p $(dir $@)
	@echo '  CXX     $<'
	$(Q)$(CXX) $(PB_CXXFLAGS) -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/bench/tests/%.o $(LIB_OBJ) $(GB_OBJ)
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $^ $(LDLIBS) -lcmocka

# each base kernel's own gup_test selftest, static, for the lab's calibration
$(BUILD)/selftests/gup_test-%: scripts/lab-selftest.sh kernel-patches/%/BASE
	scripts/lab-selftest.sh $@ $*

# and its gup_longterm (v6.4 on): the peer suite of every semantics boot
$(BUILD)/selftests/gup_longterm-%: scripts/lab-selftest.sh kernel-patches/%/BASE
	scripts/lab-selftest.sh $@ $* gup_longterm

deps:
	scripts/deps.sh

# unit tests (cmocka, pytest), the integration, error-path and lab tests,
# lint; ends with "check: N passed, N failed, N skipped"
check: all $(TESTS)
	/usr/bin/python3 scripts/tests/checks.py $(TESTS)

# the same, built with AddressSanitizer/LeakSanitizer
asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
		CXXFLAGS="-O1 -g -fsanitize=address -fno-omit-frame-pointer" \
		LDLIBS="-fsanitize=address $(LDLIBS)" bench/pinbench-asan \
		build-asan/tests/test_opts build-asan/tests/test_backing build-asan/tests/test_capi

bench/pinbench-asan: $(BUILD)/bench/pinbench.o $(LIB_OBJ) $(GB_OBJ)
	$(CXX) -o $@ $^ $(LDLIBS)

lint:
	clang-format --dry-run --Werror bench/*.c bench/*/*.c bench/*/*.h bench/gbench/*.cc plugin/*.c
	shellcheck -x scripts/*.sh scripts/lab scripts/guest/* scripts/tests/*.sh bench/tests/*.sh workloads/*.sh workloads/*/*.sh reviews/*/*.sh .ci/run

format:
	clang-format -i bench/*.c bench/*/*.c bench/*/*.h bench/gbench/*.cc plugin/*.c

clean:
	rm -rf build build-asan bench/pinbench bench/pinbench-asan bench/pinsem
