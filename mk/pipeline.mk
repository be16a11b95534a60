# The pipeline: index -> (feature, rd) per tensor -> merge -> solve -> pack.
#
#   make MODEL=path/to/model BUDGET=30G      -> $(OUT)/<name>-<budget>/ (MLX model + report.json)
#   make sweep MODEL=... BUDGETS="20G 25G"    -> one model per budget + $(OUT)/<name>-sweep.csv
#
# Intermediates (see README "How the pipeline caches"):
#   $(WORK)/m/<model-key>/params/*.json  knobs as files, rewritten only when they change
#   $(WORK)/m/<model-key>/index.json      mint-index (reruns when model files are touched;
#                                         written only when its content changes)
#   $(WORK)/m/<model-key>/tensors.mk      per-tensor work items named by content keys
#   $(WORK)/cas/{rd,feat}/<xx>/<key>.json per-tensor results, shared by every model and budget
#   $(WORK)/m/<model-key>/profile.json, alloc-<budget>.json
#   $(WORK)/log/stages.log                one line per stage invocation
# Per-tensor steps are order-only on their binary: the key (with the stage version) says what
# a result means, so relinking never redoes hours of work.

include mk/check.mk
RECIPE ?= ## a recipe file (recipes/*.mk) setting MODEL, BUDGET(S) and options
override RECIPE := $(strip $(call mint_raw,RECIPE))
ifneq ($(RECIPE),)
$(call mint_check_path,RECIPE)
include $(RECIPE)
endif

MODEL ?= tests/data/models/tinystories-656k ## model directory (Hugging Face safetensors)
BUDGET ?= 4.5bpw ## size cap of the output: 30G (GiB), 16GB (10^9), 4.5bpw, min, bytes
BUDGETS ?= 4bpw 4.5bpw 5bpw ## budgets for `make sweep`
VETO_DB ?= 9 ## quality floor: configurations below this SQNR (dB) are never chosen
SOLVER ?= exact ## exact (certified optimum) or greedy (the original MINT heuristic)
LOSS ?= nrmse ## distortion in the objective: nrmse, nrmse_w (norm-weighted) or mse
WEIGHT ?= none ## per-tensor weight: none (MINT) or params (parameter count)
PRIORS ?= soft ## prior table: soft, mint-code or a JSON file
AGG ?= mean ## MoE expert aggregation: mean (parameter-weighted) or worst
QUANTIZER ?= mlx ## mlx (bit-exact MLX affine) or minmax (MINT's simulation)
CONFIGS ?= default ## (bits:group) list, e.g. 2:64,3:64,4:64,4:32,8:64,16
FEATURES ?= 1 ## 1: compute spectral/kurtosis/noise features per tensor (reporting)
SEED ?= 0 ## seed of the randomized SVD and noise probes
RANK ?= 256 ## rank of the randomized SVD
DTYPE ?= auto ## output float dtype: auto (source BF16/F16, else BF16), bf16, f16
SHARD_SIZE ?= 5G ## shard limit of the output
WORK ?= work ## intermediates and the per-tensor cache
OUT ?= out ## packed models

# The `## text` after a knob documents it for `make help`; strip the space it leaves.  Values
# from the command line or the environment are taken raw, never expanded (mk/check.mk).
KNOBS := MODEL BUDGET BUDGETS VETO_DB SOLVER LOSS WEIGHT PRIORS AGG QUANTIZER CONFIGS FEATURES \
         SEED RANK DTYPE SHARD_SIZE WORK OUT
mint_model_given := $(if $(filter command line environment environment override,$(origin \
  MODEL)),$(value MODEL))
$(foreach v,$(KNOBS),$(eval override $(v) := $$(strip $$(call mint_raw,$(v)))))

# make -j is the parallelism: one BLAS thread per job (also keeps sums reproducible)
export OPENBLAS_NUM_THREADS := 1
# number formatting and parsing must not depend on the user's locale
export LC_ALL := C

NON_PIPELINE_GOALS := help build test test-build hdr-check clean distclean clean-cas \
                      clean-model bench bench-8b install uninstall eval deps
# a build file named as a goal (make build/bin/mint-rd, build/deps.mk) is not a pipeline run
PIPELINE := $(filter-out $(NON_PIPELINE_GOALS) $(B)/% $(abspath $(B))/%,$(or $(MAKECMDGOALS),run))
# goals that use WORK and OUT (their paths are checked), and the pipeline's (every knob is)
USES_WORK := $(PIPELINE) $(filter clean distclean clean-cas clean-model eval,$(MAKECMDGOALS))

# MODEL_DIR is what the stages get (quoted), MODEL_SRC what make reads (the same, or for a path
# make cannot spell, a symlink $(M)/model to it: see mint_model_alias in mk/check.mk).
ifeq ($(call mint_path_why,$(MODEL)),)
MODEL_DIR := $(patsubst %/,%,$(MODEL))
MODEL_KEY := $(subst /,_,$(subst ..,__,$(patsubst ./%,%,$(MODEL_DIR))))
NAME ?= $(notdir $(MODEL_DIR))
else
MODEL_DIR := $(MODEL)
mint_alias := $(call mint_model_alias,$(WORK),$(MODEL),$(if $(PIPELINE),link))
MODEL_KEY := $(word 1,$(mint_alias))
NAME ?= $(word 2,$(mint_alias))
endif
override NAME := $(strip $(call mint_raw,NAME))
ifneq ($(PIPELINE),)
$(call mint_check_model)
endif
ifneq ($(strip $(USES_WORK)),)
$(call mint_check_paths)
endif
ifneq ($(PIPELINE),)
$(call mint_check_knobs)
endif
M := $(WORK)/m/$(MODEL_KEY)
MODEL_SRC := $(if $(mint_alias),$(M)/model,$(MODEL_DIR))
CAS := $(WORK)/cas
LOGDIR := $(WORK)/log
MODEL_FILES := $(wildcard $(MODEL_SRC)/*.safetensors $(MODEL_SRC)/config.json \
                 $(MODEL_SRC)/model.safetensors.index.json)

ifneq ($(PIPELINE),)
ifeq ($(wildcard $(MODEL_SRC)/.),)
$(error mint: MODEL '$(MODEL)': no such directory (a Hugging Face model directory with config.json and safetensors))
endif
# Knobs as files: rewritten only when their text changes, so only the readers rerun.
comma := ,
P_rd := {"configs":"$(CONFIGS)"$(comma)"quantizer":"$(QUANTIZER)"}
P_feat := {"rank":$(RANK)$(comma)"seed":$(SEED)}
P_plan := {"features":$(FEATURES)}
P_merge := {"agg":"$(AGG)"$(comma)"priors":"$(PRIORS)"}
P_solve := {"loss":"$(LOSS)"$(comma)"solver":"$(SOLVER)"$(comma)"veto_db":"$(VETO_DB)"$(comma)"weight":"$(WEIGHT)"}
P_pack := {"dtype":"$(DTYPE)"$(comma)"shard_size":"$(SHARD_SIZE)"}
# $(call set_param,STAGE): write $(M)/params/STAGE.json from P_STAGE when the text differs
define set_param
ifneq ($$(file <$(M)/params/$(1).json),$$(P_$(1)))
$$(shell mkdir -p $(M)/params)
$$(file >$(M)/params/$(1).json,$$(P_$(1)))
endif
endef
$(foreach p,rd feat plan merge solve pack,$(eval $(call set_param,$(p))))
ifeq ($(wildcard $(LOGDIR)/.),)
$(shell mkdir -p $(LOGDIR))
endif
# progress counter of this make run (read and advanced by mint-job)
$(file >$(LOGDIR)/progress,)
endif

RD_FLAGS = --quantizer $(QUANTIZER) $(if $(filter-out default,$(CONFIGS)),--configs $(CONFIGS))
FEAT_FLAGS = --rank $(RANK) --seed $(SEED)

STAGE_ENV = MINT_LOG=$(LOGDIR)/stages.log MINT_PROGRESS=$(LOGDIR)/progress \
            $(if $(filter 1,$(V)),MINT_VERBOSE=1)
# $(call stage,NAME,SUBJECT[,SHOW]): run one step through mint-job (progress + stage log)
stage = @$(STAGE_ENV) $(if $(3),MINT_SHOW=1) $(BIN)/mint-job $(1) '$(2)' --
# per-tensor steps: SUBJECT is the tensor name in hex (T in tensors.mk, see mint-index --emit-mk)
tstage = @$(STAGE_ENV) MINT_TOTAL=$(MINT_TODO) $(BIN)/mint-job --hex $(1) $(2) --

define newline


endef

# ---- index: reruns when model files are touched; index.json changes only with content ----
$(M)/index.stamp: $(MODEL_FILES) | $(BIN)/mint-index $(BIN)/mint-job
	@$(STAGE_ENV) $(BIN)/mint-job index $(call mint_q,$(MODEL_DIR)) -- \
	  $(BIN)/mint-index $(call mint_q,$(MODEL_DIR)) -o $(M)/index.json -q
	@touch $@

$(M)/index.json: $(M)/index.stamp
	@[ -f $@ ] || { $(STAGE_ENV) $(BIN)/mint-job index $(call mint_q,$(MODEL_DIR)) -- \
	  $(BIN)/mint-index $(call mint_q,$(MODEL_DIR)) -o $@ -q; }

$(M)/tensors.mk: $(M)/index.json $(M)/params/rd.json $(M)/params/feat.json \
                 $(M)/params/plan.json $(BIN)/mint-index
	@$(BIN)/mint-index --emit-mk $(M)/index.json -o $@ --rd-params $(M)/params/rd.json \
	  --feat-params $(M)/params/feat.json $(if $(filter 0,$(FEATURES)),--no-feat)

# A mandatory include: when the index fails, make stops with that error alone (a failed -include
# is reported later as a misleading "No rule to make target").  Missing, it starts as an empty
# list dated 1970, which make then remakes.
# Only once the build flags are known (DEPS_READY): remaking tensors.mk links mint-index, which
# must not happen in the same pass that first writes deps.mk.
ifneq ($(PIPELINE),)
ifeq ($(DEPS_READY),1)
ifeq ($(wildcard $(M)/tensors.mk),)
$(shell mkdir -p $(M) && touch -d @0 $(M)/tensors.mk)
endif
include $(M)/tensors.mk
endif
endif
# per-tensor steps this run still has to do (for the progress counter)
MINT_TODO := $(words $(filter-out $(wildcard $(MINT_RD) $(MINT_FEAT)),$(MINT_RD) $(MINT_FEAT)))

# ---- per-tensor workers: the file name is the content, so only existence matters ----
$(CAS)/rd/%.json: | $(M)/index.json $(BIN)/mint-rd $(BIN)/mint-job
	@mkdir -p $(@D)
	$(call tstage,rd,$(T)) $(BIN)/mint-rd $(M)/index.json --hex $(T) -o $@ -q $(RD_FLAGS)

$(CAS)/feat/%.json: | $(M)/index.json $(BIN)/mint-feature $(BIN)/mint-job
	@mkdir -p $(@D)
	$(call tstage,feat,$(T)) $(BIN)/mint-feature $(M)/index.json --hex $(T) -o $@ -q \
	  $(FEAT_FLAGS)

# ---- fan-in: also depends on the work list (switching back to cached inputs) ----
$(M)/profile.json: $(MINT_RD) $(MINT_FEAT) $(M)/index.json $(M)/tensors.mk \
                   $(M)/params/merge.json $(BIN)/mint-merge
	$(file >$@.list,$(subst $(eval) ,$(newline),$(strip $(MINT_RD) $(MINT_FEAT))))
	$(call stage,merge,$(NAME)) $(BIN)/mint-merge $(M)/index.json @$@.list -o $@ \
	  --priors $(call mint_q,$(PRIORS)) --agg $(AGG)

# ---- per budget: solve and pack ----
SOLVE_FLAGS = --veto-db $(VETO_DB) --solver $(SOLVER) --loss $(LOSS) --weight $(WEIGHT) \
              --shard-size $(SHARD_SIZE)
define budget_rules
$(M)/alloc-$(1).json: $(M)/profile.json $(M)/params/solve.json $(BIN)/mint-solve
	$$(call stage,solve,$(NAME) $(1),show) $(BIN)/mint-solve $(M)/profile.json --budget $(1) \
	  -o $$@ $$(SOLVE_FLAGS)

# report.json is written last (after the model directory is renamed into place): it is the
# target, so a crash anywhere in pack reruns pack.  touch: its content may be unchanged.
$(OUT)/$(NAME)-$(1)/report.json: $(M)/alloc-$(1).json $(M)/index.json $(M)/params/pack.json \
                                  $(BIN)/mint-pack
	@mkdir -p $(OUT)
	$$(call stage,pack,$(NAME)-$(1),show) $(BIN)/mint-pack $(M)/index.json $(M)/alloc-$(1).json \
	  -o $(OUT)/$(NAME)-$(1) --shard-size $(SHARD_SIZE) --dtype $(DTYPE) --report $$@
	@touch $$@
endef
$(foreach b,$(sort $(BUDGET) $(BUDGETS)),$(eval $(call budget_rules,$(b))))

# no recipe on purpose: `make -q` then exits 0 after a full build
run: $(OUT)/$(NAME)-$(BUDGET)/report.json ## run the main job: MODEL at BUDGET -> OUT/<name>-<budget>/
.PHONY: run

profile: $(M)/profile.json ## measure only: index, features, RD curves and the merged profile
.PHONY: profile

SWEEP_CSV := $(OUT)/$(NAME)-sweep.csv
$(SWEEP_CSV): $(foreach b,$(BUDGETS),$(OUT)/$(NAME)-$(b)/report.json) \
              $(BIN)/mint-sweep
	$(call stage,sweep,$(NAME),show) $(BIN)/mint-sweep -o $@ \
	  $(foreach b,$(BUDGETS),$(b)=$(M)/alloc-$(b).json:$(OUT)/$(NAME)-$(b))

sweep: $(SWEEP_CSV) ## one packed model per budget in BUDGETS, plus OUT/<name>-sweep.csv
.PHONY: sweep

clean: ## remove build products and pipeline intermediates (keeps the per-tensor cache and OUT)
	rm -rf build $(WORK)/m $(WORK)/log
clean-model: ## remove the intermediates and packed outputs of MODEL
	rm -rf $(M) $(wildcard $(OUT)/$(NAME)-*)
clean-cas: ## remove the per-tensor cache (RD curves and features)
	rm -rf $(CAS)
distclean: ## remove everything generated: build/, WORK, OUT, bench/
	rm -rf build $(WORK) $(OUT) bench
.PHONY: clean clean-model clean-cas distclean
