"""Knowledge-driven distillation (KnowDist, paper Section 2.1): analyzing and rewriting prompts."""
