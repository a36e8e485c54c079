# paymesh: one plain Makefile for every daemon, tool and test.
#
#   make            build bin/api-gateway, bin/payment-core, bin/paymentctl
#   make run        install missing packages, build, start everything on 127.0.0.1
#   make test       install missing packages, build, unit + integration tests,
#                   then the same suite again under ASan and UBSan
#   make format     rewrite sources with clang-format
#   make fuzz       libFuzzer + ASan/UBSan on the decoders, FUZZ_SECONDS each
#   make chaos      every API family under load while daemons are SIGKILLed and
#                   providers misbehave, then a checker (CHAOS_SECONDS, tests/chaos/)
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
# go into an archive per directory so the unit tests can link them.
DAEMONS  := payment-core api-gateway provider-bazaar sandbox retry-worker provider-bank
UNIT_SRC := $(wildcard tests/unit/test_*.c)

obj   = $(patsubst %.c,$(O)/%.o,$(1))
mods  = $(filter-out %main.c,$(wildcard $(1)/*.c))
lib   = $(O)/lib$(1).a

LIBCOMMON := $(call lib,common)
LIBS      := $(foreach d,$(DAEMONS),$(if $(call mods,$(d)),$(call lib,$(d))))

PROGRAMS := $(foreach d,$(DAEMONS),$(if $(wildcard $(d)/main.c),$(BINDIR)/$(d))) \
            $(BINDIR)/paymentctl
UNITS    := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))

.PHONY: all deps run test unit-tests format format-check print-format-files clean fuzz
all: $(PROGRAMS)

deps:
	@scripts/deps.sh

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

define ARCHIVE_RULE
$(call lib,$(1)): $(call obj,$(call mods,$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach d,common $(DAEMONS),$(eval $(call ARCHIVE_RULE,$(d))))

# GET /openapi.json serves docs/openapi.yaml (JSON syntax) from a byte array
# compiled into libapi-gateway.a; od and awk are in every Debian base system.
OPENAPI_DOC := $(O)/gen/openapi_doc.c
$(OPENAPI_DOC): docs/openapi.yaml
	@mkdir -p $(dir $@)
	@{ echo '/* generated from docs/openapi.yaml by the Makefile: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char gw_openapi_doc[];'; \
	  echo 'extern const size_t gw_openapi_doc_len;'; \
	  echo 'const unsigned char gw_openapi_doc[] = {'; \
	  od -An -v -tx1 $< | awk '{ s = ""; for (i = 1; i <= NF; i++) s = s "0x" $$i ","; print s }'; \
	  echo '0x00};'; \
	  echo "const size_t gw_openapi_doc_len = $$(wc -c <$<);"; } >$@.tmp && mv $@.tmp $@
$(O)/gen/openapi_doc.o: $(OPENAPI_DOC)
	$(CC) $(CFLAGS) -c -o $@ $<
$(call lib,api-gateway): $(O)/gen/openapi_doc.o

define PROGRAM_RULE
$(BINDIR)/$(1): $(call obj,$(1)/main.c) $(if $(call mods,$(1)),$(call lib,$(1))) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call PROGRAM_RULE,$(d))))

$(BINDIR)/paymentctl: $(call obj,payment-core/paymentctl_main.c) $(call lib,payment-core) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIBS) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit-tests: $(UNITS)

# Installs what is missing, then runs everything on 127.0.0.1 until Ctrl-C.
run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

# Installs what is missing, builds both variants, runs the whole suite on each.
test: deps
	@$(MAKE) --no-print-directory all unit-tests bin/pm-load bin/pm-chaos V=release
	@$(MAKE) --no-print-directory all unit-tests V=asan
	@scripts/test.sh

# Fuzzers are built by clang straight from the sources (instrumented), with
# the corpus kept under build/fuzz so a later run resumes from it; the seeds
# in tests/fuzz/corpus/<target>/ (when there are any) are read as well.
# `make fuzzers` installs clang and builds them (scripts/test.sh too).
FUZZ_SECONDS ?= 60
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS      := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -Icommon $(PKGCF) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The modules a fuzzer links besides common/ (default: the gateway's).
FUZZ_MODS_fuzz_records := payment-core
FUZZ_MODS_fuzz_bazaar := provider-bazaar
FUZZ_MODS_fuzz_bazaarpay := provider-bazaar
FUZZ_MODS_fuzz_rbs := provider-bank
FUZZ_MODS_fuzz_tfeb := provider-bank
build/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h common/*.[ch] api-gateway/*.[ch] payment-core/*.[ch] \
              provider-bazaar/*.[ch] provider-bank/*.[ch]) $(OPENAPI_DOC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(wildcard common/*.c) \
	    $(call mods,$(or $(FUZZ_MODS_$*),api-gateway)) $(if $(FUZZ_MODS_$*),,$(OPENAPI_DOC)) $(LDLIBS)

.PHONY: fuzzers
fuzzers: deps
	@scripts/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(FUZZERS)

fuzz: fuzzers
	@for f in $(FUZZERS); do \
	  seeds=tests/fuzz/corpus/$${f#build/fuzz/}; [ -d $$seeds ] || seeds=; \
	  mkdir -p $$f.corpus && echo "== $$f ($(FUZZ_SECONDS) s)" && \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
	      -artifact_prefix=$$f- -print_final_stats=1 $$f.corpus $$seeds >$$f.log 2>&1; rc=$$?; \
	  grep "^stat::" $$f.log; \
	  if [ $$rc -ne 0 ]; then grep -m1 -B2 -A20 -E '==ERROR|runtime error|fuzz check failed|deadly signal' $$f.log; \
	    grep -E '^artifact_prefix|Test unit written to' $$f.log; exit 1; fi; \
	done

# make bench: nginx, PostgreSQL and paymesh side by side on loopback
# (bench/README.md); bench-large pre-loads 10 million payments, not 1 million.
BENCH_SECONDS ?= 5
.PHONY: bench bench-large
$(BINDIR)/pm-load: $(call obj,bench/pm_load.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: deps
	@$(MAKE) --no-print-directory all $(BINDIR)/pm-load
	@BENCH_SECONDS=$(BENCH_SECONDS) scripts/bench.sh

bench-large: deps
	@$(MAKE) --no-print-directory all $(BINDIR)/pm-load
	@BENCH_SECONDS=$(BENCH_SECONDS) BENCH_PRELOAD=10000000 scripts/bench.sh

# make chaos: every API family under load from many clients while daemons are
# SIGKILLed and the sandbox injects provider faults, then a checker compares
# the clients' log with paymesh and the sandbox (tests/chaos/README.md).
# CHAOS_SECONDS, CHAOS_SEED, CHAOS_CLIENTS, CHAOS_FAULT_PER_MILLE and
# CHAOS_KILL_EVERY_S are read from the environment (or the make line).
CHAOS_SECONDS ?= 180
.PHONY: chaos
$(BINDIR)/pm-chaos: $(call obj,tests/chaos/pm_chaos.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

chaos: deps
	@$(MAKE) --no-print-directory all $(BINDIR)/pm-chaos
	@CHAOS_SECONDS=$(CHAOS_SECONDS) PAYMESH_BIN=$(BINDIR) tests/chaos/chaos.sh

# The C sources clang-format keeps (scripts/test.sh checks the same list).
FORMAT_FILES = $(wildcard common/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/chaos/*.c \
                 bench/*.c $(foreach d,$(DAEMONS),$(d)/*.[ch]))
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

print-format-files:
	@echo $(FORMAT_FILES)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
