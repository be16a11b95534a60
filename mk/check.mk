# Knobs are data (issue 14): every value given on the command line or in the environment is
# read raw, never expanded (MODEL='$(shell id)' names a directory with a dollar in it), and
# checked before make parses a rule or a shell sees a recipe with it, with one clear error:
#   mint: BUDGET '5G;id': not a budget (30G, 30GiB, 16GB, 300K, 4.5bpw, min or plain bytes)
# Paths: WORK, OUT, NAME and RECIPE become make file names, so make's own syntax characters
# (space, tab, newline, $ # % : ; = * ? [ ] ( ) \ | and a leading ~) and the shell's
# (' " ` & < > { } ! ^) are refused there; MODEL may hold anything (see mk/pipeline.mk: make
# reads it through a symlink, the stages get it quoted).  Enumerated knobs must be one of their
# values, numbers and sizes must parse, so a typo fails in the first second, not after hours
# of analysis.  The lists here follow the stages' option parsers (mint-solve, mint-merge,
# mint-rd, mint-pack); keep them in step.

mint_empty :=
mint_space := $(mint_empty) $(mint_empty)
mint_tab := $(mint_empty)	$(mint_empty)
mint_cr := $(shell printf '\r')
mint_comma := ,
mint_hash := \#
define mint_nl


endef

# $(call mint_raw,VAR): VAR's text as the user gave it (command line, environment: unexpanded),
# else its value (a recipe file or a default, which are code we trust like this Makefile)
mint_raw = $(if $(filter command line environment environment override,$(origin $(1))),$(value $(1)),$($(1)))

# $(call mint_q,TEXT): TEXT as one single-quoted shell word, whatever it holds
mint_q = '$(subst ','\'',$(1))'

# characters a path used as a make file name may not hold (besides space, tab, CR, newline)
mint_path_bad := $$ \# % : ; = * ? [ ] ( ) $(strip \ ) | ' " ` & < > { } ! ^
# $(call mint_path_why,TEXT): why TEXT cannot be a make file name, empty when it can
mint_path_why = $(subst _, ,$(subst $(mint_space),$(mint_comma) ,$(strip \
  $(if $(findstring $(mint_space),$(1)),a_space) \
  $(if $(findstring $(mint_tab),$(1)),a_tab) \
  $(if $(findstring $(mint_nl),$(1)),a_newline) \
  $(if $(findstring $(mint_cr),$(1)),a_carriage_return) \
  $(foreach c,$(mint_path_bad),$(if $(findstring $(c),$(1)),$(if $(filter ',$(c)),"'",'$(c)'))) \
  $(if $(filter ~%,$(1)),a_leading_'~'))))
# $(call mint_check_path,VAR): stop unless $(VAR) is empty or a usable make file name
mint_check_path = $(if $(call mint_path_why,$($(1))),$(error mint: $(1) '$($(1))': make cannot \
  use $(call mint_path_why,$($(1))) in a file name; choose a path of letters, digits, \
  non-ASCII and . _ - + , @ / (a symlink to it works)))

# numbers: digits with at most one '.', a digit on both sides of it
mint_digits := 0 1 2 3 4 5 6 7 8 9
mint_drop = $(if $(2),$(call mint_drop,$(subst $(firstword $(2)),,$(1)),$(wordlist 2,$(words $(2)),$(2))),$(1))
mint_is_num = $(if $(1),$(if $(filter-out .,$(call mint_drop,$(1),$(mint_digits))),,$(if \
  $(filter .% %.,$(1)),,1)))
mint_is_int = $(if $(1),$(if $(call mint_drop,$(1),$(mint_digits)),,1))
# lower case (make has no tr)
mint_lc = $(subst Z,z,$(subst Y,y,$(subst X,x,$(subst W,w,$(subst V,v,$(subst U,u,$(subst T,t,$(subst S,s,$(subst R,r,$(subst Q,q,$(subst P,p,$(subst O,o,$(subst N,n,$(subst M,m,$(subst L,l,$(subst K,k,$(subst J,j,$(subst I,i,$(subst H,h,$(subst G,g,$(subst F,f,$(subst E,e,$(subst D,d,$(subst C,c,$(subst B,b,$(subst A,a,$(1)))))))))))))))))))))))))))

# sizes and budgets, as mint_budget_parse reads them (include/mint/budget.h): a number with an
# optional unit (case-insensitive); budgets also <number>bpw and min
mint_units := kib mib gib tib kb mb gb tb k m g t b
mint_size_num = $(firstword $(foreach u,$(mint_units),$(if $(filter %$(u),$(1)),$(patsubst \
  %$(u),%,$(1)))) $(1))
mint_is_size = $(if $(filter 1,$(words $(1))),$(call mint_is_num,$(call mint_size_num,$(call \
  mint_lc,$(1)))))
mint_is_budget = $(if $(filter 1,$(words $(1))),$(if $(filter min,$(call mint_lc,$(1))),1,$(if \
  $(filter %bpw,$(call mint_lc,$(1))),$(call mint_is_num,$(patsubst %bpw,%,$(call mint_lc,$(1)))),$(call \
  mint_is_size,$(1)))))

mint_fail = $(error mint: $(1))
mint_budget_eg := 30G, 30GiB, 16GB, 300K, 4.5bpw, min or plain bytes
mint_size_eg := 5G, 512MiB, 2GB or plain bytes
# $(call mint_one_of,VAR,VALUES): stop unless $(VAR) is one of VALUES
mint_one_of = $(if $(filter 1,$(words $($(1)))),$(if $(filter $(2),$($(1))),,$(call \
  mint_fail,$(1) '$($(1))': expected one of: $(2))),$(call mint_fail,$(1) '$($(1))': expected \
  one of: $(2)))

# MODEL may hold any character but whitespace runs (make joins words with one space): the value
# given (mint_model_given, taken in mk/pipeline.mk before the knobs are stripped) must not
# change when stripped.
mint_bar = $(subst $(mint_space),|,$(subst $(mint_tab),|,$(subst $(mint_nl),|,$(1))))
mint_check_model = $(if $(mint_model_given),$(if $(findstring $(mint_tab),$(mint_model_given))$(findstring \
  $(mint_nl),$(mint_model_given))$(subst $(call mint_bar,$(strip $(mint_model_given))),,$(call \
  mint_bar,$(mint_model_given))),$(call mint_fail,MODEL \
  '$(mint_model_given)': leading$(mint_comma) trailing or repeated whitespace$(mint_comma) tabs \
  and newlines are not supported)),$(if $(MODEL),,$(call mint_fail,MODEL is empty)))

# $(call mint_model_alias,WORK,MODEL,LINK): "KEY NAME" for a MODEL make cannot spell: KEY its
# path's printable characters (letters, digits, . _ + -; others become _, at most 80) and its
# cksum, NAME its base name the same way.  With LINK, $(WORK)/m/KEY/model becomes a symlink to
# it (absolute), which make reads instead.  The path only ever reaches the shell quoted.
mint_model_alias = $(shell m=$(call mint_q,$(2)); w=$(call mint_q,$(1)); \
  while [ "$${m%/}" != "$$m" ] && [ "$$m" != / ]; do m=$${m%/}; done; \
  case $$m in (/*) a=$$m;; (*) a=$$(pwd)/$$m;; esac; \
  k=$$(printf '%s' "$$m" | LC_ALL=C tr -c 'A-Za-z0-9._+-' _ | cut -c1-80)-$$(printf '%s' \
    "$$m" | cksum | cut -d' ' -f1); \
  n=$$(printf '%s' "$${m$(mint_hash)$(mint_hash)*/}" | LC_ALL=C tr -c 'A-Za-z0-9._+-' _); \
  if [ -n "$(3)" ]; then mkdir -p "$$w/m/$$k" && ln -sfn "$$a" "$$w/m/$$k/model"; fi; \
  printf '%s %s' "$$k" "$${n:-model}")

# the paths every goal that writes WORK or OUT uses
mint_check_paths = $(foreach v,WORK OUT NAME,$(if $($(v)),,$(call mint_fail,$(v) is \
  empty))$(call mint_check_path,$(v)))
# every other knob but MODEL (mint_check_model) and RECIPE (checked before it is included)
mint_check_knobs = $(strip \
  $(if $(call mint_is_budget,$(BUDGET)),,$(call mint_fail,BUDGET '$(BUDGET)': not a budget \
    ($(mint_budget_eg)))) \
  $(foreach b,$(BUDGETS),$(if $(call mint_is_budget,$(b)),,$(call mint_fail,BUDGETS: '$(b)' \
    is not a budget ($(mint_budget_eg))))) \
  $(if $(call mint_is_size,$(SHARD_SIZE)),,$(call mint_fail,SHARD_SIZE '$(SHARD_SIZE)': not a \
    size ($(mint_size_eg)))) \
  $(if $(call mint_is_num,$(patsubst -%,%,$(VETO_DB))),,$(call mint_fail,VETO_DB \
    '$(VETO_DB)': not a number of dB (e.g. 9$(mint_comma) 12.5$(mint_comma) -20))) \
  $(foreach v,SEED RANK,$(if $(call mint_is_int,$($(v))),,$(call mint_fail,$(v) '$($(v))': \
    not a non-negative integer))) \
  $(call mint_one_of,SOLVER,exact greedy) \
  $(call mint_one_of,LOSS,nrmse nrmse_w mse) \
  $(call mint_one_of,WEIGHT,none params) \
  $(call mint_one_of,AGG,mean worst) \
  $(call mint_one_of,QUANTIZER,mlx minmax) \
  $(call mint_one_of,DTYPE,auto bf16 f16) \
  $(call mint_one_of,FEATURES,0 1) \
  $(if $(filter default,$(CONFIGS)),,$(if $(filter 1,$(words $(CONFIGS))),$(if $(call \
    mint_drop,$(CONFIGS),$(mint_digits) : $(mint_comma)),$(call mint_fail,CONFIGS \
    '$(CONFIGS)': expected default or bits:group pairs such as 2:64$(mint_comma)4:64$(mint_comma)16)),$(call \
    mint_fail,CONFIGS '$(CONFIGS)': expected default or bits:group pairs such as \
    2:64$(mint_comma)4:64$(mint_comma)16))) \
  $(if $(filter soft mint-code,$(PRIORS)),,$(call mint_check_path,PRIORS)$(if $(filter \
    1,$(words $(PRIORS))),,$(call mint_fail,PRIORS is empty))$(if $(wildcard $(PRIORS)),,$(call \
    mint_fail,PRIORS '$(PRIORS)': not soft$(mint_comma) mint-code or an existing JSON file))))
