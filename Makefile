# keyward: build, run, test, install.
#   make           build build/keyward
#   make run       install missing Debian packages, build, serve the console at http://127.0.0.1:8080/
#   make run-apache  the same behind Apache instead of lighttpd
#   make test      install what the tests need, build with sanitizers, run every test
#   make bench     benchmarks (see tests/bench/)
#   make install   PREFIX=/usr/local DESTDIR=

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
PORT       ?= 8080
VARDIR     ?= $(CURDIR)/var
SHARED_DIR ?= $(CURDIR)/../shared

PACKAGES_BUILD := build-essential pkg-config libfcgi-dev libsqlite3-dev libsodium-dev libjansson-dev zlib1g-dev
PACKAGES_RUN   := lighttpd
PACKAGES_TEST  := libcmocka-dev python3 curl sqlite3 clang libclang-rt-14-dev apache2
PACKAGES_BENCH := wrk python3 valgrind sqlite3

PKGS    := fcgi sqlite3 libsodium zlib jansson
CC      ?= cc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DKEYWARD_VERSION='"$(VERSION)"' $(WARN) $(CFLAGS) -Isrc \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TEST_CFLAGS := -O1 -g $(SAN)

SOURCES     := $(sort $(wildcard src/*/*.c))
MAIN_SOURCE := src/main.c
SCHEMA      := $(sort $(wildcard src/store/schema/*.sql))
UNIT_TESTS  := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/test_*.c)))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -DKEYWARD_VERSION='"$(VERSION)"' -g -O1 -Isrc -Ibuild \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

OBJECTS      := $(SOURCES:src/%.c=build/release/%.o)
TEST_OBJECTS := $(SOURCES:src/%.c=build/test/%.o)

.PHONY: all run run-apache test fuzz bench install uninstall clean deps deps-test deps-bench
all: build/keyward

# ---- build -------------------------------------------------------------------------------------
build/release/%.o: src/%.c $(wildcard src/*/*.h) build/schema.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Ibuild -c $< -o $@

build/test/%.o: src/%.c $(wildcard src/*/*.h) build/schema.h
	@mkdir -p $(dir $@)
	@echo "  CC+SAN  $<"
	@$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Ibuild -c $< -o $@

# The schema migrations, embedded as C strings in order (src/store/schema/NNN_name.sql).
build/schema.h: $(SCHEMA) Makefile
	@mkdir -p build
	@{ echo '/* generated from the files in src/store/schema by the Makefile; do not edit */'; \
	   echo 'static const char *const store_migrations[] = {'; \
	   for f in $(SCHEMA); do \
	     echo "	/* $$f */"; \
	     sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	"/' -e 's/$$/\\n"/' "$$f"; \
	     echo '	,'; \
	   done; \
	   echo '};'; } > $@.tmp && mv $@.tmp $@

build/keyward: $(OBJECTS) build/release/main.o
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) $^ -o $@ $(LIBS)

build/test/keyward: $(TEST_OBJECTS) build/test/main.o
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $^ -o $@ $(LIBS)

# Each unit test is one program, linked with the shared fixture (tests/unit/support.c).
build/test/unit/%: tests/unit/%.c tests/unit/support.c tests/unit/support.h $(TEST_OBJECTS)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Ibuild -Itests/unit $< tests/unit/support.c $(TEST_OBJECTS) -o $@ $(LIBS) -lcmocka

# libFuzzer targets, one per parser of outside input, built with clang over every source.
build/fuzz/%: tests/fuzz/%.c $(SOURCES) $(wildcard src/*/*.h) build/schema.h
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@clang $(FUZZ_FLAGS) $< $(SOURCES) -o $@ $(LIBS)

# ---- run ---------------------------------------------------------------------------------------
run: deps build/keyward
	@PORT=$(PORT) VARDIR=$(VARDIR) sh www/run-lighttpd.sh

# The same behind Apache: mod_authnz_fcgi and mod_proxy_fcgi to one `keyward serve` (www/run-apache.sh).
run-apache: deps build/keyward
	@sh tests/install-packages.sh apache2
	@PORT=$(PORT) VARDIR=$(VARDIR) sh www/run-apache.sh

# ---- test --------------------------------------------------------------------------------------
test: deps-test
	@$(MAKE) --no-print-directory build/test/keyward $(UNIT_TESTS:%=build/test/unit/%) $(FUZZ_TARGETS:%=build/fuzz/%)
	@SHARED_DIR=$(SHARED_DIR) FUZZ_TARGETS="$(FUZZ_TARGETS)" sh tests/run-all.sh $(UNIT_TESTS)

# Run each fuzz target for FUZZ_SECONDS (make test runs each for a few seconds only).
fuzz: deps-test $(FUZZ_TARGETS:%=build/fuzz/%)
	@for t in $(FUZZ_TARGETS); do mkdir -p build/fuzz/corpus/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build/fuzz/corpus/$$t || exit 1; done

# ---- bench -------------------------------------------------------------------------------------
# The release build against a trivial FastCGI authorizer, both behind lighttpd, driven by wrk
# (tests/bench/bench.py says what it measures and which BENCH_* settings it takes).
build/bench/seed: tests/bench/seed.c $(OBJECTS)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) -Ibuild $^ -o $@ $(LIBS)

build/bench/trivial_authorizer: tests/bench/trivial_authorizer.c
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) $< -o $@ $(LIBS)

bench: deps-bench
	@$(MAKE) --no-print-directory build/keyward build/bench/seed build/bench/trivial_authorizer
	@python3 tests/bench/bench.py
	@python3 tests/bench/instructions.py
	@python3 tests/bench/insight.py

# ---- dependencies (Debian) ---------------------------------------------------------------------
deps:
	@sh tests/install-packages.sh $(PACKAGES_BUILD) $(PACKAGES_RUN)
deps-test:
	@sh tests/install-packages.sh $(PACKAGES_BUILD) $(PACKAGES_RUN) $(PACKAGES_TEST)
deps-bench:
	@sh tests/install-packages.sh $(PACKAGES_BUILD) $(PACKAGES_RUN) $(PACKAGES_BENCH)

clean:
	rm -rf build
