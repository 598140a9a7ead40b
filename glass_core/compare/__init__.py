"""`python -m glass_core.compare`: the optimizers compared per evaluation on the embedded default set."""
