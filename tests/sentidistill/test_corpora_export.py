"""The corpora as a Hugging Face dataset folder: loadable with datasets.load_dataset, every row
accounted for in the card."""

from __future__ import annotations

import json

import polars as pl
import yaml

from sentidistill.corpora_export import DatasetExportParams, SourceLicense, export_corpora


def _tables(tmp_path):
    know = pl.DataFrame(
        {
            "prompt_id": ["a", "b", "c"],
            "user_message": ["x", "y", "z"],
            "response": ["r1", "", "r3"],
            "keep": [True, False, True],
            "exclude_reason": [None, "empty", None],
        }
    )
    icl = pl.DataFrame(
        {
            "prompt_id": ["p"],
            "prompt": ["Label:"],
            "response": ["positive"],
            "parsed": [["positive"]],
            "keep": [True],
            "exclude_reason": [None],
        },
        schema_overrides={"exclude_reason": pl.String},
    )
    labels = pl.DataFrame({"text": ["good", "bad"], "label": ["positive", None], "parse_error": [None, "no_json"]})
    paths = {}
    for name, df in (("knowdist", know), ("icldist", icl), ("classifier_labels", labels)):
        paths[name] = tmp_path / f"{name}.parquet"
        df.write_parquet(paths[name])
    return paths


def test_the_folder_loads_as_a_dataset_and_the_card_accounts_for_every_row(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    stats = tmp_path / "stats"
    stats.mkdir()
    (stats / "corpus.json").write_text(
        json.dumps(
            {
                "total": {
                    "raw": 100,
                    "rejected": 2,
                    "exact_duplicates": 3,
                    "near_duplicates": 1,
                    "contaminated": 1,
                    "kept": 93,
                }
            }
        )
    )
    params = DatasetExportParams(
        sources={"aclimdb_unsup": SourceLicense(description="IMDb", hub_id="stanfordnlp/imdb", license="other")}
    )
    out = tmp_path / "export" / "corpora"
    rows = export_corpora(_tables(tmp_path), out, params, teacher="qwen", stats_dir=stats, git_revision="abc")
    assert rows == {"knowdist": 3, "icldist": 1, "classifier_labels": 2}
    know = datasets.load_dataset(str(out), "knowdist", split="train", cache_dir=str(tmp_path / "hf"))
    assert know.num_rows == 3 and know["exclude_reason"] == [None, "empty", None]
    assert datasets.load_dataset(str(out), "icldist", split="train", cache_dir=str(tmp_path / "hf"))["parsed"] == [
        ["positive"]
    ]
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert [c["config_name"] for c in meta["configs"]] == ["knowdist", "icldist", "classifier_labels"]
    assert meta["source_datasets"] == ["stanfordnlp/imdb"] and meta["size_categories"] == ["n<1K"]
    assert "| `knowdist` | 3 | 2 | empty: 1 |" in card and "| `classifier_labels` | 2 | 1 | no_json: 1 |" in card
    assert "100 raw texts" in card and "teacher `qwen`" in card and "| `aclimdb_unsup` | IMDb |" in card
