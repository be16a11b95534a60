# Benchmarks (tests/bench/): never part of `make test`.
#   make bench     scaled synthetic models, <= 10 min on 2 cores -> table + bench/results.csv
#   make bench-8b  full-size Qwen3-8B shape (16 GB BF16) end to end: rd + features at -j2
# Every tests/bench/<name>.c is a tool linked like a test tool -> $(B)/bench/<name>; bench.sh
# builds each one on its own (a tool that does not build yet is skipped with a message), runs
# them and reads their key=value lines.  Knobs: see the header of tests/bench/bench.sh.

BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(B)/bench/%)

$(B)/bench/%: $(B)/obj/tests/bench/%.o $(LIBMINT)
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBMINT) $(LIBS)

bench-build: $(BENCH_BINS) ## build the benchmark tools into build/bench
.PHONY: bench-build

# No prerequisites: bench.sh builds what it can and skips what does not build.
bench: ## benchmarks on scaled synthetic models (<= 10 min, 2 cores) -> bench/results.csv
	@bash tests/bench/bench.sh

bench-8b: ## full-size Qwen3-8B (16 GB BF16, needs 40 GB free): rd + features at -j2
	@bash tests/bench/bench.sh --8b
.PHONY: bench bench-8b
