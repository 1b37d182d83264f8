"""training: params: the repository values, the paper profiles, and errors that name the key."""

from __future__ import annotations

import copy

import pytest

from sentidistill.params import ParamsError, load_params
from sentidistill.training.config import load_training_params


def _training():
    return copy.deepcopy(load_params()["training"])


def test_repository_params_and_paper_profiles_valid():
    cfg = load_training_params()
    assert cfg.mode == "two_stage"
    expected = {  # Appendix C.1, Tables 16-21: (lr, scheduler, warmup, weight decay, beta2)
        ("paper-llama-3.2-1b", "knowdist"): (5e-6, "cosine", 0.01, 0.1, 0.95),
        ("paper-llama-3.2-1b", "icldist"): (1e-5, "linear", 0.02, 0.01, 0.999),
        ("paper-qwen-2.5-1.5b", "knowdist"): (5e-5, "cosine", 0.0, 0.1, 0.999),
        ("paper-qwen-2.5-1.5b", "icldist"): (3e-5, "cosine", 0.0, 0.1, 0.999),
        ("paper-llama-3.2-3b", "knowdist"): (5e-5, "cosine", 0.0, 0.1, 0.999),
        ("paper-llama-3.2-3b", "icldist"): (2e-5, "cosine", 0.0, 0.1, 0.999),
    }
    for (profile, stage), values in expected.items():
        data = _training()
        data["profile"] = profile
        hp = load_training_params({"training": data}).stage(stage)
        assert (hp.learning_rate, hp.lr_scheduler, hp.warmup_ratio, hp.weight_decay, hp.adam_beta2) == values
        assert hp.batch_size == 128 and hp.epochs == 4 and hp.adam_beta1 == 0.9
        assert hp.grad_accumulation(world_size=1) * hp.per_device_batch_size == 128


def test_bad_key_is_named():
    data = _training()
    data["knowdist"]["learning_rte"] = 1e-4
    with pytest.raises(ParamsError, match=r"training\.knowdist\.learning_rte: unknown key"):
        load_training_params({"training": data})


def test_bad_value_and_profile_named():
    data = _training()
    data["icldist"]["lr_scheduler"] = "exp"
    with pytest.raises(ParamsError, match=r"training\.icldist\.lr_scheduler"):
        load_training_params({"training": data})
    data = _training()
    data["profile"] = "paper-llama-9b"
    with pytest.raises(ParamsError, match="paper-llama-9b.*allowed"):
        load_training_params({"training": data})
    data = _training()
    data["profiles"]["paper-llama-3.2-1b"]["icldist"]["per_device_batch_size"] = 3
    with pytest.raises(ParamsError, match="multiple of per_device_batch_size"):
        load_training_params({"training": data})


def test_modes():
    data = _training()
    for mode, trains, corpora in [
        ("two_stage", (True, True), (("knowdist",), ("icldist",))),
        ("knowdist_only", (True, False), (("knowdist",), ("icldist",))),
        ("icldist_only", (False, True), (("knowdist",), ("icldist",))),
        ("unified", (True, False), (("knowdist", "icldist"), ("icldist",))),
    ]:
        data["mode"] = mode
        cfg = load_training_params({"training": data})
        assert (cfg.trains("knowdist"), cfg.trains("icldist")) == trains
        assert cfg.corpora("knowdist") == corpora[0]
