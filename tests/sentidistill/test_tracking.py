"""report_to: DVCLive through transformers' own callback, other trackers passed through."""

from __future__ import annotations

from sentidistill.tracking import trainer_reporting


def test_dvclive_becomes_a_callback_writing_to_the_stage_folder(tmp_path):
    from transformers.integrations import DVCLiveCallback

    report_to, callbacks = trainer_reporting(["dvclive", "tensorboard"], tmp_path / "live", resume=False)
    assert report_to == ["tensorboard"]
    assert len(callbacks) == 1 and isinstance(callbacks[0], DVCLiveCallback)
    live = callbacks[0].live
    assert live.dir == str(tmp_path / "live") and live._dvcyaml is None and live._save_dvc_exp is False


def test_no_tracker_and_no_folder_mean_none():
    assert trainer_reporting([], None, resume=False) == (["none"], [])
    assert trainer_reporting(["dvclive"], None, resume=False) == (["none"], [])
    assert trainer_reporting(["mlflow"], None, resume=False) == (["mlflow"], [])
