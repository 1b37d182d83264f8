from sentidistill.engines.base import GenerationParams, apply_stop_when, truncate_at_stop
from sentidistill.engines.transformers_engine import _common_prefix_len, token_budget_batches


def test_a_caller_stop_criterion_cuts_the_text_where_it_says():
    params = GenerationParams(stop_when=lambda t: t.find("!") + 1 or None)
    assert apply_stop_when("ok! more", params) == ("ok!", True)
    assert apply_stop_when("not yet", params) == ("not yet", False)
    assert apply_stop_when("anything", GenerationParams()) == ("anything", False)


def test_truncate_at_stop_uses_earliest_stop():
    assert truncate_at_stop("abc\nSentence: x", ("Sentence:", "\n")) == ("abc", True)
    assert truncate_at_stop("abc", ("\n",)) == ("abc", False)


def test_token_budget_batches_cover_every_index_once_and_respect_budget():
    lengths = [5, 300, 7, 6, 290, 1000, 8]
    batches = list(token_budget_batches(lengths, max_tokens=600, max_batch=3))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        assert len(b) <= 3
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 600
    # an item longer than the budget still gets a batch of its own
    assert [5] in batches


def test_common_prefix_len():
    assert _common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert _common_prefix_len([[1], [2]]) == 0
    assert _common_prefix_len([]) == 0


def test_weights_digest_follows_content_not_the_card(tmp_path):
    import hashlib
    import shutil

    from sentidistill.engines.base import weights_digest

    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    (folder / "README.md").write_text("card with results")
    first = weights_digest(folder)
    assert first and weights_digest(folder) == first
    (folder / "README.md").write_text("card with other results")  # the model card is not the model
    assert weights_digest(folder) == first
    (folder / "model.safetensors").write_bytes(b"\x01" + b"\x00" * 63)  # retrained in place, same size
    assert weights_digest(folder) != first
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert weights_digest(gguf) == hashlib.sha256(b"GGUF").hexdigest()  # a GGUF: its published sha256
    assert weights_digest(tmp_path / "m.gguf.missing") is None
    # a model inside a hub cache (~/.cache/huggingface/...) still hashes its own files
    cached = tmp_path / ".cache" / "hub" / "hf"
    shutil.copytree(folder, cached)
    assert weights_digest(cached) == weights_digest(folder)
    (cached / ".cache").mkdir()
    (cached / ".cache" / "download.lock").write_text("x")  # the hub's own bookkeeping inside the folder
    assert weights_digest(cached) == weights_digest(folder)
    assert weights_digest("HuggingFaceTB/SmolLM2-135M-Instruct") is None  # a hub id: its name is the identity
