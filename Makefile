# tlszoo: build, run, test. `make run` and `make test` install what is missing.
DEPS      := build/deps
WOLFSSL   := $(DEPS)/lib/libwolfssl.a
STAMP     := $(DEPS)/.stamp
CC        ?= cc
PKGS      := yaml-0.1 libevent libevent_pthreads jansson
CFLAGS    ?= -O2
CFLAGS    += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -g -MMD -MP -I$(DEPS)/include
LDLIBS    := $(WOLFSSL) -lm -lpthread
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS      := $(filter-out server/main.c,$(wildcard server/*.c))
OBJS      := $(SRCS:server/%.c=build/obj/%.o)
TEST_SRCS := $(wildcard tests/unit/*.c)

.PHONY: all deps run test unit integration asan clean distclean fuzz hostile valgrind bench ci
all: tlszoo

deps: $(STAMP)
$(STAMP): scripts/deps.sh
	scripts/deps.sh

build/obj/%.o: server/%.c | $(STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $$(pkg-config --cflags $(PKGS)) -c $< -o $@

tlszoo: build/obj/main.o $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $$(pkg-config --libs $(PKGS))

build/unit-tests: $(TEST_SRCS) $(OBJS)
	$(CC) $(CFLAGS) -Iserver $$(pkg-config --cflags $(PKGS) check) -o $@ $^ \
	    $(LDLIBS) $$(pkg-config --libs $(PKGS) check)

run: tlszoo
	./tlszoo serve

unit: build/unit-tests
	cd tests/unit && ../../build/unit-tests

integration: tlszoo
	python3 tests/integration/run.py

# The same suites again, built with AddressSanitizer and UBSan.
asan: | $(STAMP)
	$(MAKE) --no-print-directory build/asan/tlszoo build/asan/unit-tests
	cd tests/unit && CK_FORK=no ../../build/asan/unit-tests
	TLSZOO=build/asan/tlszoo python3 tests/integration/run.py

build/asan/obj/%.o: server/%.c | $(STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $< (sanitizers)"
	@$(CC) $(CFLAGS) $(SAN) $$(pkg-config --cflags $(PKGS)) -c $< -o $@

ASAN_OBJS := $(SRCS:server/%.c=build/asan/obj/%.o)
build/asan/tlszoo: build/asan/obj/main.o $(ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $$(pkg-config --libs $(PKGS))
build/asan/unit-tests: $(TEST_SRCS) $(ASAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) -Iserver $$(pkg-config --cflags $(PKGS) check) -o $@ $^ \
	    $(LDLIBS) $$(pkg-config --libs $(PKGS) check)

test: unit integration asan

# libFuzzer (clang, ASan + UBSan): ClientHello parser with fingerprints and
# event JSON, and the scenario loader; each runs FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
fuzz: | $(STAMP)
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# Thousands of hostile connections at once, against the normal and ASan builds.
hostile: tlszoo build/asan/tlszoo
	python3 tests/hostile/run.py
	TLSZOO=build/asan/tlszoo python3 tests/hostile/run.py

# A serve-and-connect session under valgrind memcheck.
valgrind: tlszoo
	tests/valgrind/run.sh

# tlszoo beside nginx, same certificates, alternating rounds; prints the table.
bench: tlszoo
	python3 bench/run.py

# What CI runs: every test, then the robustness checks.
ci: test fuzz hostile valgrind

clean:
	rm -rf build/obj build/asan build/unit-tests build/fuzz/obj build/fuzz/fuzz_* tlszoo

distclean: clean
	rm -rf build certs/*.pem certs/*.key certs/leaf

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) build/obj/main.d
