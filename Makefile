# paymesh: one plain Makefile for every daemon, tool and test.
#
#   make            build bin/api-gateway, bin/payment-core, bin/paymentctl
#   make run        install missing packages, build, start everything on 127.0.0.1
#   make test       install missing packages, build, unit + integration tests,
#                   then the same suite again under ASan and UBSan
#   make format     rewrite sources with clang-format
#
# V=asan builds the sanitizer variant into build/asan (binaries in build/asan/bin).

V ?= release
ifeq ($(V),asan)
  O      := build/asan
  BINDIR := build/asan/bin
  SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  OPT    := -O1
else
  O      := build/release
  BINDIR := bin
  SAN    :=
  OPT    := -O2
endif

PKGS    := libczmq libzmq msgpack lmdb libmicrohttpd json-c libcurl libsodium uuid
PKGCF   := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKGLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CC      ?= cc
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT) -Wall -Wextra -Werror -Wshadow \
           -Wstrict-prototypes -Wmissing-prototypes -MMD -MP -Icommon $(PKGCF) $(SAN)
LDFLAGS := $(SAN)
LDLIBS  := $(PKGLIBS) -lpthread

# A daemon directory holds one program entry (main.c) and modules; the modules
# go into an archive so the unit tests can link them.
COMMON_SRC  := $(wildcard common/*.c)
CORE_SRC    := $(filter-out %main.c,$(wildcard payment-core/*.c))
GW_SRC      := $(filter-out %main.c,$(wildcard api-gateway/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBCOMMON := $(O)/libpmcommon.a
LIBCORE   := $(O)/libpmcore.a
LIBGW     := $(O)/libpmgateway.a

PROGRAMS := $(BINDIR)/api-gateway $(BINDIR)/payment-core $(BINDIR)/paymentctl
UNITS    := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

.PHONY: all deps run test unit-tests format format-check clean
all: $(PROGRAMS)

deps:
	@scripts/deps.sh

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBCORE): $(call obj,$(CORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(LIBGW): $(call obj,$(GW_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/payment-core: $(call obj,payment-core/main.c) $(LIBCORE) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/paymentctl: $(call obj,payment-core/paymentctl_main.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/api-gateway: $(call obj,api-gateway/main.c) $(LIBGW) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIBCORE) $(LIBGW) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-tests: $(UNITS)

# Installs what is missing, then runs everything on 127.0.0.1 until Ctrl-C.
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

# Installs what is missing, builds both variants, runs the whole suite on each.
test: deps
	@$(MAKE) --no-print-directory all unit-tests V=release
	@$(MAKE) --no-print-directory all unit-tests V=asan
	@scripts/test.sh

format:
	clang-format -i $(wildcard common/*.[ch] payment-core/*.[ch] api-gateway/*.[ch] tests/unit/*.[ch])

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
