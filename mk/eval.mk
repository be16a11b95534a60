# The quality report: `make eval` runs recipes/quality.sh (see its header for the methods).
eval: build ## quality report: PPL of every method on both bundled models and texts -> OUT/quality/
	@WORK=$(WORK) OUT=$(OUT) bash recipes/quality.sh
.PHONY: eval
