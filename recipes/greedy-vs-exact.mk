# Compare the original MINT greedy with the exact solver on the same RD curves:
#   make sweep RECIPE=recipes/greedy-vs-exact.mk SOLVER=greedy WORK=work OUT=out/greedy
#   make sweep RECIPE=recipes/greedy-vs-exact.mk SOLVER=exact  WORK=work OUT=out/exact
# Both reuse every RD curve (same WORK); compare the two sweep CSVs (objective, bound).
MODEL := tests/data/models/tinystories-656k
BUDGETS := 3.5bpw 4bpw 4.25bpw 4.5bpw 5bpw
