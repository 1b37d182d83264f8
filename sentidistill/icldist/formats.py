"""Label sets and format-diversification switches of ICLDist (Table 6, Tables 11-12).

``icldist.formats`` in params.yaml: the label-word sets of sentiment classification
(LW), the emotion taxonomies (LT) and the minimized-instruction strategy (MI). The
first entry of each mapping is the undiversified default (Table 11/12 BASIC), used
alone when its strategy is switched off.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sentidistill.params import StrictModel

#: Canonical sentiment labels; every label-word set lists its words in this order.
SENTIMENT_CANONICAL = ("positive", "negative", "neutral")


class FormatParams(StrictModel):
    """``icldist.formats``."""

    label_words: dict[str, list[str]] = Field(min_length=1)
    diversify_label_words: bool
    taxonomies: dict[str, list[str]] = Field(min_length=1)
    taxonomy_aliases: dict[str, dict[str, str]] = Field(default_factory=dict)
    diversify_taxonomies: bool
    minimized_instruction: bool
    minimized_instruction_prob: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> FormatParams:
        for name, words in self.label_words.items():
            if len(words) != len(SENTIMENT_CANONICAL) or len(set(words)) != len(words):
                raise ValueError(
                    f"label_words.{name}: give {len(SENTIMENT_CANONICAL)} distinct words in the order "
                    f"{list(SENTIMENT_CANONICAL)}, got {words}"
                )
        for name, labels in self.taxonomies.items():
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise ValueError(f"taxonomies.{name}: need at least 2 distinct labels, got {labels}")
        for name, aliases in self.taxonomy_aliases.items():
            if name not in self.taxonomies:
                raise ValueError(f"taxonomy_aliases.{name}: no taxonomy of that name")
            bad = [v for v in aliases.values() if v not in self.taxonomies[name]]
            if bad:
                raise ValueError(f"taxonomy_aliases.{name}: targets {bad} are not labels of the taxonomy")
        return self

    @property
    def basic_words(self) -> str:
        return next(iter(self.label_words))

    @property
    def basic_taxonomy(self) -> str:
        return next(iter(self.taxonomies))

    def word_sets(self) -> list[str]:
        """Label-word sets a prompt may use (all with LW on, the first only with LW off)."""
        return list(self.label_words) if self.diversify_label_words else [self.basic_words]

    def taxonomy_names(self) -> list[str]:
        return list(self.taxonomies) if self.diversify_taxonomies else [self.basic_taxonomy]

    def to_words(self, canonical: str, word_set: str) -> str:
        return self.label_words[word_set][SENTIMENT_CANONICAL.index(canonical)]

    def to_canonical(self, word: str, word_set: str) -> str:
        return SENTIMENT_CANONICAL[self.label_words[word_set].index(word)]
