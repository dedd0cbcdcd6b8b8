# idledger: build, test and run.
#
#   make            build bin/idledgerd and bin/idledger
#   make deps       install missing Debian packages (apt-get)
#   make test       deps + build + every test (unit and integration)
#   make asan-test  the same tests built with AddressSanitizer and UBSan
#   make run        deps + build + a local 4-validator network in ./devnet
#   make bench      benchmarks (QUICK=1 for a short run)
#   make format     clang-format every source file
#   make clean

CC ?= cc
BUILD ?= build
BIN ?= bin
OPT ?= -O2 -g
SAN ?=
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
        -Wformat=2 -Wpointer-arith -Wundef -Wno-missing-field-initializers
CPPFLAGS += -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -I. -Iledger
CFLAGS += -std=c11 $(OPT) $(WARN) $(SAN) -fno-strict-aliasing -MMD -MP
LDFLAGS += $(SAN)
# LevelDB is linked statically for the switch that turns its memory maps off
# (ledger/store_leveldb.c); it then needs snappy and the C++ runtime itself.
LIBS := -Wl,-Bstatic -lleveldb -Wl,-Bdynamic -lsnappy -lstdc++ \
        -lsecp256k1 -lsodium -lnng -lcrypto -ljansson -lpthread -lcsv
# On x86-64 LevelDB's CRC-32C comes from ledger/crc32c.c (the CPU's instruction): -u makes
# the linker take it from our library before it reads LevelDB's, and CRC_CHECK fails a
# binary that got LevelDB's own tables all the same.
CRC_CHECK := true
ifeq ($(shell uname -m),x86_64)
LIBS := -Wl,-u,_ZN7leveldb6crc32c6ExtendEjPKcm $(LIBS)
CRC_CHECK = ! nm $@ | grep -q kStrideExtensionTable || \
            { echo "$@: LevelDB's own CRC-32C was linked" >&2; rm -f $@; exit 1; }
endif

# V=1 shows every command.
Q := $(if $(V),,@)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CPPFLAGS += -DIDL_VERSION='"0.1.0 ($(VERSION))"'

# node/tokens.c is in the library because idledger testnet issues tokens too.
LIB_SRC := $(wildcard ledger/*.c genesis/*.c wallet/*.c consensus/*.c) node/tokens.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libidledger.a

NODE_SRC := $(filter-out node/tokens.c,$(wildcard node/*.c))
CLI_SRC := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/*_test.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(filter-out %_test.c,$(wildcard tests/unit/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
# Node modules the unit tests link (node/*.c is not in the library).
NODE_TEST_SRC := node/p2p.c node/log.c node/config.c node/mempool.c node/jsonw.c
NODE_TEST_OBJ := $(NODE_TEST_SRC:%.c=$(BUILD)/%.o)

BINS := $(if $(NODE_SRC),$(BIN)/idledgerd) $(if $(CLI_SRC),$(BIN)/idledger)

# The deterministic consensus simulator (tests/sim). `make unit` runs SIM_SEEDS seeds (fewer
# under the sanitizers); `make sim` runs SEEDS seeds from SIM_FROM (a fresh start each time
# unless given); `make sim-broken` shows the checker catching a weakened quorum.
SIM_SRC := $(wildcard tests/sim/*.c)
SIM_BIN := $(if $(SIM_SRC),$(BUILD)/tests/sim)
SIM_SEEDS ?= $(if $(SAN),40,300)
SEEDS ?= 2000
SIM_FROM ?= random

.PHONY: all deps test unit integration asan-test run bench format clean sim sim-broken
all: $(LIB) $(BINS) $(UNIT_BIN) $(SIM_BIN)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/idledgerd: $(NODE_SRC:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	$(Q)$(CRC_CHECK)

$(BIN)/idledger: $(CLI_SRC:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
	$(Q)$(CRC_CHECK)

$(BUILD)/tests/%_test: $(BUILD)/tests/unit/%_test.o $(TESTLIB_OBJ) $(NODE_TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# Objects apart from the binary's path ($(BUILD)/tests/sim is the program, not a directory).
$(BUILD)/sim-obj/%.o: tests/sim/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/sim: $(SIM_SRC:tests/sim/%.c=$(BUILD)/sim-obj/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

unit: $(UNIT_BIN) $(SIM_BIN)
	@./tests/run-unit.sh $(UNIT_BIN)
	$(if $(SIM_BIN),@$(SIM_BIN) --seeds $(SIM_SEEDS) --from 1)

sim: $(SIM_BIN)
	@$(SIM_BIN) --seeds $(SEEDS) --from $(SIM_FROM)

sim-broken:
	@BUILD=$(BUILD) ./tests/sim/broken_quorum.sh

# Test tools: real programs the integration tests run beside the nodes.
TOOLS := $(BUILD)/tools/evilpeer $(BUILD)/tools/certtwin
$(BUILD)/tools/evilpeer: $(BUILD)/tests/tools/evilpeer.o $(BUILD)/node/p2p.o $(BUILD)/node/log.o $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(BUILD)/tools/certtwin: $(BUILD)/tests/tools/certtwin.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcrypto

# The benchmark load generator (tests/bench): `make bench` builds it and the binaries and
# runs tests/bench/run.sh, which prints a table and writes $(BENCH_OUT) (QUICK=1: a run of
# under two minutes; BENCH_DIR: where the networks live, default a fresh /tmp directory).
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_TOOL := $(BUILD)/tools/loadgen
BENCH_OUT ?= out/bench.json
$(BENCH_TOOL): $(BENCH_SRC:%.c=$(BUILD)/%.o) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench: deps
	@$(MAKE) --no-print-directory $(BINS) $(BENCH_TOOL)
	@BIN=$(abspath $(BIN)) TOOLS=$(abspath $(BUILD)/tools) QUICK=$(QUICK) \
	    BENCH_OUT=$(abspath $(BENCH_OUT)) ./tests/bench/run.sh

integration: $(BINS) $(TOOLS) $(BENCH_TOOL)
	@BIN=$(abspath $(BIN)) TOOLS=$(abspath $(BUILD)/tools) ./tests/run-integration.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own tree so
# the two builds never mix objects.
asan-test: deps
	@$(MAKE) --no-print-directory BUILD=build-asan BIN=build-asan/bin OPT="-O1 -g" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    unit integration

# A local 4-validator network in ./devnet, until Ctrl-C (CONTRACT.md).
run: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(abspath $(BIN)) ./scripts/devnet.sh

format:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c tests/*/*.h)

clean:
	rm -rf build build-asan bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
