"""In-context learning distillation (ICLDist, paper Section 2.2): prompts, demo labels, parsing."""
