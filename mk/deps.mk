# Dependencies: Debian packages only.  mk/deps.sh compiles, links and runs one program per
# library with exactly the flags the build uses (a header alone proves nothing: netlib's
# libblas-dev ships a cblas.h), installs the packages of those that fail with apt-get (sudo
# when not root, printing what it does; NO_DEPS=1 only reports, exit 1), prints the BLAS and
# LAPACKE in use and writes $(DEPS_MK): the flags plus the headers and libraries really used.
#
# $(DEPS_MK) is an included makefile, so make remakes it (and restarts) before building
# anything.  It is remade when mk/deps.sh changes, when CC changes, or when a file it lists has
# gone (a package removed since), so the stamp never hides a removal.  deps.sh rewrites it only
# when its text changes (what rebuilds read is flags.txt, mk/toolchain.mk); the rule touches it,
# so a newer mk/deps.sh is probed once, not on every make.  Goals that build
# nothing (help, clean, ...) neither read nor probe it.

DEPS_MK := $(B)/deps.mk
DEPS_FREE_GOALS := help clean distclean clean-cas clean-model
ifneq ($(or $(filter-out $(DEPS_FREE_GOALS),$(MAKECMDGOALS)),$(if $(MAKECMDGOALS),,all)),)
-include $(DEPS_MK)
ifneq ($(MINT_DEPS_CC),$(CC))
DEPS_STALE := cc
endif
ifneq ($(words $(wildcard $(MINT_DEPS_FILES))),$(words $(MINT_DEPS_FILES)))
DEPS_STALE := files
endif
# DEPS_READY: flags for this CC and these files are loaded.  Until then nothing may link
# (pipeline.mk includes tensors.mk, whose remaking links mint-index, only once it is set; a
# changed mk/deps.sh alone reprobes in the same pass, with the old flags still valid).
DEPS_READY := $(if $(DEPS_STALE),,1)
$(DEPS_MK): mk/deps.sh $(if $(DEPS_STALE),deps-reprobe)
	@CC=$(call shq,$(CC)) NO_DEPS=$(call shq,$(NO_DEPS)) sh mk/deps.sh -o $@
	@touch $@
.PHONY: deps-reprobe
endif

deps: $(DEPS_MK) ## probe the libraries, install the missing Debian packages
.PHONY: deps
