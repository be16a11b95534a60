# User knobs (suckless style).  Override on the command line: make CC=clang SAN=1.

CC ?= cc
OPT ?= -O2 -ftree-vectorize ## optimisation flags (no -ffast-math: results must be bit-exact)
SAN ?= ## 1: build with AddressSanitizer + UBSan into build/san
WERROR ?= ## 1: turn warnings into errors (set automatically when CI=true)
V ?= ## 1: show the commands make runs
NO_DEPS ?= ## 1: never install missing packages, just report them

# (switches are taken as given, never expanded; OPT is compiler flags, i.e. commands, and is
# expanded once like any make variable)
$(foreach v,SAN WERROR V NO_DEPS,$(eval override $(v) := $$(strip $$(value $(v)))))
override OPT := $(strip $(OPT))

ifeq ($(CI),true)
WERROR := 1
endif

# Build products.  A sanitizer build lives in its own tree so both can coexist.
ifeq ($(SAN),1)
B := build/san
else
B := build
endif
BIN := $(B)/bin

# $(call shq,TEXT): TEXT as one single-quoted shell word, whatever it contains
shq = '$(subst ','\'',$(1))'
