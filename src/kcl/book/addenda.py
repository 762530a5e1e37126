"""The protocol's addenda as the pages name them: a verdict judged by one carries its name, and
book/protocol.md ("Addenda") lists each under its date."""

#: each seed of a peak at its own best rate (result 1's headline)
SEED_RATES = "the seed-rates addendum"
#: one rate beyond the grid where a peak sits at its edge (results 1(b), 3 and 4 on bioS)
EDGE_RATES = "the edge-rates addendum"
#: a ratio of two figures that both store nothing is not judged (result 4's bioS under protocol v4)
VOID_RATIOS = "the void-ratio addendum"
