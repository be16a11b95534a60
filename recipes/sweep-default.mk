# A reproducible research sweep: the bundled TinyStories-656K over five budgets.
#   make sweep RECIPE=recipes/sweep-default.mk
# A recipe is plain make: it sets the pipeline's knobs (see `make help`); anything given on the
# command line still wins.
MODEL := tests/data/models/tinystories-656k
BUDGETS := 3.5bpw 4bpw 4.5bpw 5bpw 6bpw
VETO_DB := 9
SOLVER := exact
LOSS := nrmse
