# The pipeline: index -> feature/rd per tensor -> merge -> solve -> pack.
# (Until the later stages land, `make run` indexes the model and prints the tensor table.)

MODEL ?= tests/data/models/tinystories-656k ## model directory (Hugging Face safetensors)
WORK ?= work ## intermediates
OUT ?= out ## packed models

MODEL_NAME := $(notdir $(patsubst %/,%,$(MODEL)))

run: $(BIN)/mint-index ## run the main job on MODEL
	@mkdir -p $(WORK)/$(MODEL_NAME)
	@LC_ALL=C OPENBLAS_NUM_THREADS=1 $(BIN)/mint-index $(MODEL) -o $(WORK)/$(MODEL_NAME)/index.json
.PHONY: run
