"""The lab: measurement and comparison commands that import glass_core (never the other way round)."""
