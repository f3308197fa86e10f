"""Mini-programs: one package each, all the same shape, found through entry points."""
