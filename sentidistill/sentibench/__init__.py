"""SentiBench (Zhang et al., EMNLP 2025, Section 3 and Appendix B): the 12 datasets,
their prompts, output parsers and metrics. Pure Python; no model code lives here."""
