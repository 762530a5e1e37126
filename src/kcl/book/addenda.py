"""The protocol's addenda as the pages name them: book/protocol.md lists each under its date, and a
verdict judged by one carries that name, so the two read alike."""

#: each seed of a peak at its own best rate (result 1's headline)
SEED_RATES = "addendum 2026-11-29"
#: one rate beyond the grid where a peak sits at its edge (results 1(b), 3 and 4 on bioS)
EDGE_RATES = "addendum 2026-11-30"
