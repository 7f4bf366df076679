"""Self-supervised SR of a single scan (SMORE/SAA) and Deep Image Prior."""
