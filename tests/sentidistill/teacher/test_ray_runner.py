"""The Ray Data path (actor pool, local Ray) with the real SmolLM2 teacher on llama.cpp."""

import polars as pl
import pytest

from sentidistill.teacher.generate import generate_table
from sentidistill.teacher.resolve import resolve_teacher
from tests.stages.teacher_child import tiny_teacher

MESSAGES = [
    f"Is this review positive or negative? Review: {t}"
    for t in ["Loved it.", "Terrible food.", "It was fine, I guess.", "Best phone ever!", "Never again.", "Meh."]
]


@pytest.mark.slow
def test_ray_actor_pool_matches_local_and_caches(tmp_path):
    reqs = pl.DataFrame({"prompt_id": [f"{i:016x}" for i in range(6)], "user_message": MESSAGES})
    ray_teacher = resolve_teacher(
        tiny_teacher("ray", shard_rows=2).model_copy(
            update={"ray": tiny_teacher("ray").ray.model_copy(update={"actors": 2, "batch_size": 2})}
        )
    )
    out_ray, st = generate_table(reqs, ray_teacher, "knowdist", tmp_path / "ray")
    assert st["runner"] == "ray" and st["generated"] == 6 and st["cache"]["unique_keys"] == 6
    out_local, st_local = generate_table(reqs, resolve_teacher(tiny_teacher("local")), "knowdist", tmp_path / "local")
    assert st_local["generated"] == 6
    # same keys, same greedy answers, in request order (Ray returns batches in completion order)
    assert out_ray.drop("cache_hit").equals(out_local.drop("cache_hit"))
    assert out_ray["prompt"][0].startswith("<|im_start|>system")  # chat template applied
    # warm: nothing reaches Ray
    _, warm = generate_table(reqs, ray_teacher, "knowdist", tmp_path / "ray")
    assert warm["generated"] == 0 and warm["cache_hits"] == 6
