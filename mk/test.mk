# Tests: C unit tests (tests/unit/t-*.c, one executable each), tools the tests use
# (tests/tool/*.c), CLI scripts (tests/cli/t*.sh) and pipeline scripts (tests/pipeline/t*.sh).
# tests/run.sh runs them all, in the normal and the sanitizer build, and prints the tally.

UNIT_SRC := $(wildcard tests/unit/t-*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
TOOL_SRC := $(wildcard tests/tool/*.c)
TOOL_BINS := $(TOOL_SRC:tests/tool/%.c=$(B)/tests/tool/%)

$(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(LIBMINT)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBMINT) $(LIBS)

$(B)/tests/tool/%: $(B)/obj/tests/tool/%.o $(LIBMINT)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBMINT) $(LIBS)

$(B)/obj/tests/%.o: ALL_CFLAGS += -Itests

test-build: $(STAGE_BINS) $(UNIT_BINS) $(TOOL_BINS) ## build stages, unit tests and test tools
.PHONY: test-build

test: ## run every test (unit, sanitizer, CLI, pipeline); last line "N passed, N failed"
	@bash tests/run.sh
.PHONY: test

hdr-check: ## check that every public header compiles on its own
	@for h in include/mint/*.h; do \
	  printf '#include "%s"\n' "$${h#include/}" | $(CC) -std=c11 -Wall -Wextra -Werror -Iinclude $(PKG_CFLAGS) -fsyntax-only -x c - || exit 1; \
	done; echo "headers ok"
.PHONY: hdr-check
