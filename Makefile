# pycensus — see README.md.  `make`, `make check`, `make install PREFIX=...`.
CC ?= cc
PREFIX ?= /usr/local
CFLAGS ?= -O2 -g
WARN = -std=c11 -Wall -Wextra -Werror -Wno-missing-field-initializers
CPPFLAGS += -D_GNU_SOURCE -Iinclude
LIBS = -ldw -lelf -ljson-c

# src/ is grouped by layer (README, "Layout"); dependencies point from
# cmd/ down to core/.
LAYERS = core target layout walk census report cmd
SRCS = $(foreach d,$(LAYERS),$(wildcard src/$(d)/*.c))
$(if $(wildcard src/*.c),$(error $(wildcard src/*.c): move it into its layer's folder under src/))
# The layout tables (layout/X.Y.Z.json, scripts/gen-layout-table) are
# compiled in: a generated source, one per build flavour below.
TABLES = $(wildcard layout/*.json)
OBJS = $(SRCS:src/%.c=build/%.o) build/layout_tables.o
SAN_OBJS = $(SRCS:src/%.c=build/san/%.o) build/san/layout_tables.o
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all deps check check-plain check-san install clean demo fuzz tables

all: deps-ok pycensus

# Build dependencies come from Debian packages; fetch them when missing.
deps-ok:
	@test -f /usr/include/elfutils/libdwfl.h -a -f /usr/include/json-c/json.h || scripts/install-deps
	@touch $@

pycensus: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

build/%.o: src/%.c $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

# Regenerate layout/X.Y.Z.json from the DWARF of these builds.
TABLE_PYTHONS ?= $(foreach v,2.7.18 3.6.15 3.7.16 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0,/root/.pyenv/versions/$(v)/bin/python) \
	scripts/sid-python3.13 scripts/sid-python3.14 scripts/sid-python3.15
tables: pycensus
	scripts/gen-layout-table ./pycensus $(TABLE_PYTHONS)

build/layout_tables.c: $(TABLES) scripts/embed-layout-tables
	@mkdir -p $(@D)
	scripts/embed-layout-tables $(TABLES) > $@

build/layout_tables.o: build/layout_tables.c
	$(CC) $(CFLAGS) -c -o $@ $<

build/san/layout_tables.o: build/layout_tables.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -c -o $@ $<

build/fuzz/layout_tables.o: build/layout_tables.c
	@mkdir -p $(@D)
	$(CLANG) -O1 -g -c -o $@ $<

build/san/%.o: src/%.c $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) -O1 -g $(SAN) -c -o $@ $<

pycensus-san: $(SAN_OBJS)
	$(CC) -O1 -g $(SAN) -o $@ $(SAN_OBJS) $(LIBS)

# The fuzzer (libFuzzer, clang): the walkers over corrupted memory images
# that tests/fuzz/dump_image takes from real processes.
CLANG ?= clang
LIB_SRCS = $(filter-out src/cmd/main.c,$(SRCS))
FUZZ_OBJS = $(LIB_SRCS:src/%.c=build/fuzz/%.o) build/fuzz/layout_tables.o
FUZZ_SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# No comparison tracing: it took half the time of a run (3 inputs/s instead
# of 18), and the harness makes its extreme values itself.
FUZZ_COV ?= -fno-sanitize-coverage=trace-cmp

build/fuzz/%.o: src/%.c $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_COV) $(FUZZ_SAN) -c -o $@ $<

build/fuzz_census: $(FUZZ_OBJS) tests/fuzz/fuzz_census.c tests/fuzz/image.c tests/fuzz/image.h
	$(CLANG) $(CPPFLAGS) -Itests/fuzz $(WARN) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -o $@ \
		tests/fuzz/fuzz_census.c tests/fuzz/image.c $(FUZZ_OBJS) $(LIBS)

build/dump_image: $(filter-out build/cmd/main.o,$(OBJS)) tests/fuzz/dump_image.c tests/fuzz/image.h
	$(CC) $(CPPFLAGS) -Itests/fuzz $(WARN) $(CFLAGS) -o $@ tests/fuzz/dump_image.c \
		$(filter-out build/cmd/main.o,$(OBJS)) $(LIBS)

fuzz: deps-ok build/fuzz_census build/dump_image

# Test dependencies (interpreter debug info, setpriv, debootstrap...) too;
# checked again when the list changes.  The Debian sid root (python3.13-3.15,
# scripts/sid-root) is built (once, cached) by tests/run.py.
test-deps-ok: scripts/install-deps
	@scripts/install-deps --check || scripts/install-deps --test
	@touch $@

# Test dependencies first: they include the build ones, so apt-get runs once.
# One run of the tests: every tests/test_*.py against ./pycensus, then again
# (--quick) against the ASan/UBSan build; the last line is the grand total.
check: test-deps-ok all pycensus-san
	python3 tests/run.py --pycensus ./pycensus --san ./pycensus-san

demo: all
	scripts/demo

install: pycensus
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 pycensus $(DESTDIR)$(PREFIX)/bin/pycensus
	install -m 644 man/pycensus.1 $(DESTDIR)$(PREFIX)/share/man/man1/pycensus.1

clean:
	rm -rf build pycensus pycensus-san deps-ok test-deps-ok
