# Quiet builds: short banners unless V=1.
ifeq ($(V),1)
Q :=
QUIET_CC =
QUIET_AR =
QUIET_LINK =
else
Q := @
QUIET_CC = @printf '  CC      %s\n' $@;
QUIET_AR = @printf '  AR      %s\n' $@;
QUIET_LINK = @printf '  LINK    %s\n' $@;
MAKEFLAGS += --no-print-directory
endif
