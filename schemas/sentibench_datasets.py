"""The SentiBench task registry: 12 datasets described as data (lm-evaluation-harness style).

Everything that differs between datasets lives in one :class:`DatasetSpec`: where the raw
files are, how a row becomes a gold label, the instruction of Appendix B.2 (Tables 13-15),
the label set and the metric of Table 1. Code elsewhere dispatches on ``spec.kind`` only.

Instructions are verbatim from the authors' released code (HITSZ-HLT/Sentiment-Distillation
@2810fc2, ``icl_multifaced.py`` / ``fsa.py``), which match the paper's tables except where
noted next to the string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Category = Literal["BSA", "MSA", "FSA"]
Kind = Literal["classification", "atsa", "acsa", "asqp", "ssa"]
Metric = Literal["macro_f1", "micro_f1", "sentiment_graph_f1"]
Split = Literal["train", "dev", "test"]
#: Which wording of the prompts (``sentibench.eval.prompt_text``): ``code`` = the authors'
#: released code, which produced the numbers of Table 2; ``paper`` = Tables 13-15.
PromptText = Literal["code", "paper"]
DEFAULT_PROMPT_TEXT: PromptText = "code"

SPLITS: tuple[Split, ...] = ("train", "dev", "test")

#: Sentiment polarities of the Rest16 tasks (ATSA/ACSA/ASQP gold tuples).
POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")
#: SSA (OpeNER) polarities, lower-cased; the raw data has only Positive/Negative.
SSA_POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")

#: ACSA categories as listed in the ACSA instruction (Table 15); the raw Rest16 data uses
#: ``FOOD#QUALITY``, lower-cased with '#' -> ' ' by the ingest.
ACSA_CATEGORIES: tuple[str, ...] = (
    "ambience general", "drinks prices", "drinks quality", "drinks style_options",
    "food prices", "food quality", "food style_options", "location general",
    "restaurant general", "restaurant miscellaneous", "restaurant prices", "service general",
)  # fmt: skip
#: ASQP categories as listed in the ASQP instruction (Table 15): ACSA's plus 'food general'
#: (present in asqp_rest16/val.json only).
ASQP_CATEGORIES: tuple[str, ...] = tuple(sorted((*ACSA_CATEGORIES, "food general")))

_SA2 = (
    "Please perform Sentiment Analysis task. Given the sentence, assign a sentiment polarity "
    "label from ['negative', 'positive']. Return label only without any other text."
)
_SA3 = (
    "Please perform Sentiment Analysis task. Given the sentence, assign a sentiment polarity "
    "label from ['negative', 'positive', 'neutral']. Return label only without any other text."
)
_IRONY = (
    "Please perform Irony Detection task. Given the sentence, assign a sentiment label from "
    "['irony', 'non-irony']. Return label only without any other text."
)
# "assign a emotion label" and "Return the label only" are verbatim (authors' code, Table 14).
_EMOTION = (
    "Please perform Emotion Detection task. Given the sentence, assign a emotion label from "
    "['anger', 'joy', 'sadness', 'optimism']. Return the label only without any other text."
)
# The only instruction that depends on the query: "{target}" is the query row's target.
_STANCE = (
    "Please perform Stance Detection task. Given the sentence, assign a sentiment label expressed "
    "by the author towards \"{target}\" from ['against', 'favor']. Return label only without "
    "any other text."
)
_INTIMACY = (
    "Please perform Intimacy Detection task. Given the sentence, assign an intimacy label from "
    "['not intimate', 'moderately intimate', 'highly intimate']. Return label only without any "
    "other text."
)
_ATSA = (
    "Please perform Aspect Term Sentiment Analysis task. Given the sentence, extract all "
    "(aspect term, sentiment polarity) pairs."
)
_ACSA = (
    "Please perform aspect-level sentiment analysis task. Given the sentence, tag all (aspect "
    "category, sentiment) pairs. Aspect category should be selected from ['ambience general', "
    "'drinks prices', 'drinks quality', 'drinks style_options', 'food prices', 'food quality', "
    "'food style_options', 'location general', 'restaurant general', 'restaurant miscellaneous', "
    "'restaurant prices', 'service general'], and sentiment should be selected from ['negative', "
    "'neutral', 'positive']. If there are no target-sentiment pairs, return an empty list. "
    "Otherwise return a python list of tuples containing two strings in double quotes. Please "
    "return python list only, without any other comments or texts."
)
# Spelling follows the paper's Table 15 (prompt_text: paper). The authors' code has two typos
# here, kept by prompt_text: code (_ASQP_CODE): 'restaurant pcrices' and a missing space in
# "'drinks prices','drinks quality'".
# The instruction says "(aspect term, aspect category, opinion, sentiment polarity)" but the
# gold tuples and demo labels are (category, aspect, opinion, sentiment), as in the authors'
# code; we keep that order (see ingest.asqp_gold).
_ASQP = (
    "Please perform Aspect Sentiment Quad Prediction task. Given the sentence, extract all "
    "(aspect term, aspect category, opinion, sentiment polarity) quadruples.\n\n"
    "1. Aspect category should be selected from ['ambience general', 'drinks prices', "
    "'drinks quality', 'drinks style_options', 'food general', 'food prices', 'food quality', "
    "'food style_options', 'location general', 'restaurant general', 'restaurant miscellaneous', "
    "'restaurant prices', 'service general'].\n\n"
    "2. Sentiment polarity should be selected from ['negative', 'neutral', 'positive'].\n\n"
    "3. If there is no aspect term, use 'NULL' as the aspect term. Only aspect term can be "
    "'NULL', aspect category, opinion and sentiment polarity CANNOT be 'NULL'.\n\n"
    "4. Please return python list only, without any other comments or texts."
)
# Text of Table 15 (prompt_text: paper). The authors' code has one extra trailing space after
# the first sentence ("...sentiment polarity). \n\nEach tuple"), kept by _SSA_CODE.
_SSA = (
    "Please perform the Structured Sentiment Analysis task. Given a sentence, extract all opinion "
    "tuples in the format (holder, target, sentiment expression, sentiment polarity).\n\n"
    "Each tuple should contain:\n\n"
    "- Holder: The entity expressing the sentiment, if there is no explicit holder, use 'NULL' "
    "as the holder.\n\n"
    "- Target: The entity being evaluated, if there is no explicit target, use 'NULL' as the "
    "target.\n\n"
    "- Sentiment Expression: The phrase conveying the sentiment.\n\n"
    "- Sentiment Polarity: The polarity of the sentiment, either positive, negative, or "
    "neutral.\n\n"
    "Follow these rules:\n\n"
    "1. If there is no sentiment expression, return 'NULL' for all fields.\n\n"
    "2. Please return python list only, without any other comments or texts."
)

# The authors' code's wording where it differs from the paper (prompt_text: code).
_ASQP_CODE = _ASQP.replace("'drinks prices', 'drinks quality'", "'drinks prices','drinks quality'").replace(
    "'restaurant prices'", "'restaurant pcrices'"
)
_SSA_CODE = _SSA.replace("sentiment polarity).\n\nEach tuple", "sentiment polarity). \n\nEach tuple")
assert _ASQP_CODE != _ASQP and _SSA_CODE != _SSA


def stance_label_text(label: str, target: str, prompt_text: PromptText) -> str:
    """A P-Stance demonstration label: ``favor (opinion towards 'Joe Biden')`` in the paper
    (Table 14), ``favor(opinion towards 'Joe Biden')`` -- no space -- in the authors' code."""
    sep = "" if prompt_text == "code" else " "
    return f"{label}{sep}(opinion towards '{target}')"


#: Raw file of each split. ATSA/ACSA have no val.json: their dev split is carved from
#: train.json by the ingest (Table 1: 1600 train + 400 dev).
_RAW_FILES = MappingProxyType({"train": "train.json", "dev": "val.json", "test": "test.json"})
_RAW_FILES_NO_DEV = MappingProxyType({"train": "train.json", "test": "test.json"})


@dataclass(frozen=True)
class DatasetSpec:
    """One SentiBench dataset. ``labels`` is in the authors' label-id order (``id_to_label``)."""

    key: str
    display: str  # column header of Table 2
    name: str  # dataset name of Table 1
    task: str  # task name of Table 1
    category: Category
    raw_dir: str  # relative to data/raw/sentibench
    kind: Kind
    instruction: str
    metric: Metric
    labels: tuple[str, ...] = ()
    #: split -> rows, as in Table 1 (and DATA.md); the ingest checks these.
    expected_rows: Mapping[str, int] = field(default_factory=dict)
    #: raw split file names; a spec without "dev" gets its dev split carved from train.
    raw_files: Mapping[str, str] = field(default_factory=lambda: _RAW_FILES)
    has_target: bool = False  # P-Stance: each row has a target and the instruction names it
    #: the authors' code's instruction where it differs from ``instruction`` (the paper's)
    code_instruction: str | None = None

    @property
    def dev_from_train(self) -> bool:
        return "dev" not in self.raw_files

    @property
    def is_classification(self) -> bool:
        return self.kind == "classification"

    @property
    def arity(self) -> int | None:
        """Length of one gold tuple (fine-grained tasks); None for classification."""
        return {"atsa": 2, "acsa": 2, "asqp": 4, "ssa": 4}.get(self.kind)

    def render_instruction(self, target: str | None = None, prompt_text: PromptText = DEFAULT_PROMPT_TEXT) -> str:
        """The instruction in the chosen wording; P-Stance needs the query's target."""
        text = self.code_instruction if prompt_text == "code" and self.code_instruction else self.instruction
        if self.has_target:
            if not target:
                raise ValueError(f"{self.key}: the instruction needs the query's target")
            return text.format(target=target)
        return text

    @staticmethod
    def demo_label_text(demo: Mapping[str, Any], prompt_text: PromptText = DEFAULT_PROMPT_TEXT) -> str:
        """The string after ``Label: `` of a demonstration row in the chosen wording (the
        ingest writes both: ``label_text`` = the paper's, ``label_text_code`` = the code's)."""
        return demo["label_text_code"] if prompt_text == "code" else demo["label_text"]


def _sizes(train: int, dev: int, test: int) -> Mapping[str, int]:
    return MappingProxyType({"train": train, "dev": dev, "test": test})


_SPECS: tuple[DatasetSpec, ...] = (
    # --- Basic sentiment analysis ------------------------------------------------------
    DatasetSpec("imdb", "IMDb", "IMDb", "Document-level sentiment classification", "BSA",
                "sc/imdb", "classification", _SA2, "macro_f1", ("negative", "positive"),
                _sizes(3000, 300, 1000)),
    DatasetSpec("yelp2", "Yelp2", "Yelp2", "Document-level sentiment classification", "BSA",
                "sc/yelp2", "classification", _SA2, "macro_f1", ("negative", "positive"),
                _sizes(3000, 300, 1000)),
    DatasetSpec("sst2", "SST2", "SST2", "Sentence-level sentiment classification", "BSA",
                "sc/sst2", "classification", _SA2, "macro_f1", ("negative", "positive"),
                _sizes(3000, 300, 1821)),
    DatasetSpec("twitter", "Twitter", "Twitter17", "Sentence-level sentiment classification",
                "BSA", "sc/twitter", "classification", _SA3, "macro_f1",
                ("negative", "positive", "neutral"), _sizes(3000, 300, 1000)),
    # --- Multifaceted sentiment analysis -----------------------------------------------
    DatasetSpec("irony18", "Irony", "Irony18", "Irony detection", "MSA",
                "multifaced/irony18", "classification", _IRONY, "macro_f1",
                ("non-irony", "irony"), _sizes(3000, 300, 784)),
    DatasetSpec("emotion20", "Emoti.", "Emotion20", "Emotion recognition", "MSA",
                "multifaced/tweeteval", "classification", _EMOTION, "macro_f1",
                ("anger", "joy", "sadness", "optimism"), _sizes(3000, 300, 1421)),
    # Table 1 says 3 classes; the released data and the authors' code have 2.
    DatasetSpec("pstance", "Stance", "P-Stance", "Stance detection", "MSA",
                "multifaced/pstance", "classification", _STANCE, "macro_f1",
                ("against", "favor"), _sizes(3000, 300, 2157), has_target=True),
    DatasetSpec("intimacy", "Intim.", "MINT-English", "Intimacy analysis", "MSA",
                "multifaced/intimacy", "classification", _INTIMACY, "macro_f1",
                ("not intimate", "moderately intimate", "highly intimate"),
                _sizes(1287, 300, 396)),
    # --- Fine-grained sentiment analysis -----------------------------------------------
    DatasetSpec("atsa", "ATSA", "Rest16", "Aspect term sentiment analysis", "FSA",
                "absa/atsa_rest16", "atsa", _ATSA, "micro_f1",
                expected_rows=_sizes(1600, 400, 676), raw_files=_RAW_FILES_NO_DEV),
    DatasetSpec("acsa", "ACSA", "Rest16", "Aspect category sentiment analysis", "FSA",
                "absa/acsa_rest16", "acsa", _ACSA, "micro_f1",
                expected_rows=_sizes(1600, 400, 676), raw_files=_RAW_FILES_NO_DEV),
    DatasetSpec("asqp", "ASQP", "Rest16", "Aspect sentiment quad prediction", "FSA",
                "absa/asqp_rest16", "asqp", _ASQP, "micro_f1",
                expected_rows=_sizes(1264, 316, 544), code_instruction=_ASQP_CODE),
    DatasetSpec("ssa", "SSA", "Opener", "Structured sentiment analysis", "FSA",
                "absa/opener", "ssa", _SSA, "sentiment_graph_f1",
                expected_rows=_sizes(1744, 249, 499), code_instruction=_SSA_CODE),
)  # fmt: skip

#: key -> spec, in Table 2's column order.
DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({s.key: s for s in _SPECS})

#: category -> dataset keys, in Table 2's order.
CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {c: tuple(s.key for s in _SPECS if s.category == c) for c in ("BSA", "MSA", "FSA")}
)


def get_spec(key: str) -> DatasetSpec:
    """The spec of ``key``; a clear error listing the known keys otherwise."""
    try:
        return DATASETS[key]
    except KeyError:
        raise KeyError(f"unknown SentiBench dataset {key!r}; known: {', '.join(DATASETS)}") from None
