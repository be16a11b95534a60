# mint - fit a large language model into a memory budget.
# Thin on purpose: the concerns live in mk/*.mk, included in order.  `make help` lists targets.

include mk/config.mk
include mk/quiet.mk
include mk/deps.mk
include mk/toolchain.mk
include mk/pipeline.mk
include mk/test.mk
include mk/bench.mk
include mk/eval.mk

.DEFAULT_GOAL := run

help: ## list the targets and the variables you can set
	@printf 'usage: make [TARGET] [VAR=value ...]\n\ntargets:\n'
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN{FS=":.*## "} {printf "  %-16s %s\n", $$1, $$2}'
	@printf '\nvariables:\n'
	@grep -hE '^[A-Z_]+ *\?=.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN{FS=" *\\?= *"} {split($$2, a, "## "); printf "  %-16s %s (default: %s)\n", $$1, a[2], a[1]}' | sed 's/ *)$$/)/;s/ (default: *)/ (default: none)/'
.PHONY: help
