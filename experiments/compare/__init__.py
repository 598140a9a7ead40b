"""`python -m experiments.compare`: the optimizers compared per evaluation on the embedded default set."""
