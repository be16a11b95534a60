# Compile and link.  Shared code -> $(B)/lib/libmint.a; every stages/<s>/ -> $(BIN)/mint-<s>.
# Stages, unit tests and tools are discovered by wildcard: a new one is a new file, nothing more.

MAKEFLAGS += -r
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:
.SECONDEXPANSION:

# The library flags are the ones mk/deps.sh probed (mk/deps.mk): OpenBLAS explicitly, never
# whatever libblas.so the alternatives system points at.
PKG_CFLAGS = $(MINT_DEPS_CFLAGS)
PKG_LIBS = $(MINT_DEPS_LIBS)

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
ALL_CFLAGS = -std=c11 -ffp-contract=off -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) -g $(WARN) \
             -Iinclude $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm -lpthread

COMMON_SRC := $(wildcard stages/common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o)
LIBMINT := $(B)/lib/libmint.a

STAGES := $(patsubst stages/%/main.c,%,$(wildcard stages/*/main.c))
STAGE_BINS := $(STAGES:%=$(BIN)/mint-%)
stage_objs = $(patsubst %.c,$(B)/obj/%.o,$(wildcard stages/$(1)/*.c))

# Compiler flags are tracked as content: a flag change rebuilds everything, a rerun nothing.
# Only once the probed library flags are known (make restarts after writing $(DEPS_MK)).
FLAGS_TEXT = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS)
ifdef MINT_DEPS_CC
ifneq ($(file <$(B)/flags.txt),$(FLAGS_TEXT))
$(shell mkdir -p $(B))
$(file >$(B)/flags.txt,$(FLAGS_TEXT))
endif
endif

$(B)/obj/%.o: %.c $(B)/flags.txt
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBMINT): $(COMMON_OBJ)
	@mkdir -p $(@D)
	$(QUIET_AR)rm -f $@ && ar rcs $@ $^

$(BIN)/mint-%: $$(call stage_objs,%) $(LIBMINT)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $(call stage_objs,$*) $(LIBMINT) $(LIBS)

build: $(STAGE_BINS) ## build every stage into build/bin
.PHONY: build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
