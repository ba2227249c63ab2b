"""Population-scale work: the bulk runner over users' files (and, later, estimates from statistics)."""
