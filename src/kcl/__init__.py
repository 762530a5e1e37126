"""kcl: knowledge capacity scaling laws (Allen-Zhu & Li, Physics of Language Models 3.3), reproduced.

The pipeline, one module per step:
people -> data (bioS, bioS-simple, bioR proxy, bioD, random strings) -> tokenizer -> models
-> train -> capacity (bits from loss) -> store (records) -> chapters.
"""

__version__ = "0.1.0"
