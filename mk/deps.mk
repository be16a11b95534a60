# Dependencies: Debian packages only.  The first build probes for each library's header and
# installs what is missing with apt-get (sudo when not root), printing what it does.
# NO_DEPS=1 only reports.  The probe's result is a stamp, so later builds cost nothing.

DEPS_PROBES := jansson.h:libjansson-dev xxhash.h:libxxhash-dev lapacke.h:liblapacke-dev \
               cblas.h:libopenblas-dev
DEPS_TOOLS := pkg-config:pkg-config

$(B)/deps.ok:
	@mkdir -p $(@D)
	@missing=""; \
	for p in $(DEPS_PROBES); do h=$${p%%:*}; pkg=$${p#*:}; \
	  if [ "$$h" = cblas.h ]; then \
	    [ -n "$$(pkg-config --cflags openblas 2>/dev/null)" ] || [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || [ -e /usr/include/aarch64-linux-gnu/cblas.h ] || missing="$$missing $$pkg"; \
	  else printf '#include <%s>\n' $$h | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing $$pkg"; fi; \
	done; \
	for p in $(DEPS_TOOLS); do t=$${p%%:*}; pkg=$${p#*:}; \
	  command -v $$t >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$(NO_DEPS)" = 1 ]; then \
	    echo "mint: missing packages:$$missing (NO_DEPS=1: install them with apt-get install$$missing)" >&2; exit 1; fi; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  echo "installing:$$missing"; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null || \
	    { echo "mint: could not install:$$missing" >&2; exit 1; }; \
	fi
	@touch $@
