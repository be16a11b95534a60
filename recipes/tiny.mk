# The smallest real model, at a budget that forces a mixed allocation (used by the tests).
#   make RECIPE=recipes/tiny.mk
MODEL := tests/data/models/stories260K
BUDGET := 300K
BUDGETS := 240K 300K 400K
