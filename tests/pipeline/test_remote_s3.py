"""The same pipeline against S3, for real: a moto S3 server on 127.0.0.1, a dvc-s3 remote
with its endpoint, push outputs + teacher cache, wipe the local cache and outputs, pull,
and `dvc repro` has nothing to do; a forced teacher stage takes every row from the cache."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sentidistill import doctor
from tests.tinyrepo import dvc, read_json, run, stage_runs

pytestmark = pytest.mark.slow

BUCKET = "sentidistill-test"
# larger than any object the tiny repo pushes (its biggest, a model file, is ~270 MB)
MOTO_IN_MEMORY_BYTES = 1 << 30
FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_s3(monkeypatch):
    pytest.importorskip("dvc_s3", reason="pip install -e '.[s3,test-s3]'")
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.skip("moto_server missing: pip install -e '.[s3,test-s3]'")
    for k, v in FAKE_CREDS.items():
        monkeypatch.setenv(k, v)
    port = _free_port()
    # moto spills every object over 5 MB to a temporary file: keep the bucket in memory instead, so
    # the pushed models do not hold a third copy of the tiny repo's cache on the test machine's disk
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_S3_DEFAULT_KEY_BUFFER_SIZE": str(MOTO_IN_MEMORY_BYTES)},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("moto_server did not start")
    import boto3

    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_s3_round_trip(tiny_repo: Path, moto_s3: str, tmp_path: Path):
    repo = tiny_repo
    assert stage_runs(dvc("repro", cwd=repo).stdout) == []  # start from a reproduced state
    # an output a re-run stage wrote stays a copy beside its cache object when that object was there
    # already (the rebuild tests retrain the students to the same weights): link it to the cache, so
    # the repo holds each model once before the clone below holds a second copy of the workspace
    dvc("checkout", "--relink", "-q", cwd=repo)
    dvc("remote", "add", "s3", f"s3://{BUCKET}/dvc", cwd=repo)
    dvc("remote", "modify", "s3", "endpointurl", moto_s3, cwd=repo)
    t0 = time.perf_counter()
    push = dvc("push", "-r", "s3", cwd=repo)
    print(f"\n[s3] push: {push.stdout.strip().splitlines()[-1]} ({time.perf_counter() - t0:.0f}s)")
    # what a project commits: dvc.lock, metrics and other `cache: false` outputs, the remote config
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", "tiny run"], repo)

    # a fresh clone = no local cache, no DVC-tracked outputs, no teacher cache
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    dvc("config", "--local", "cache.type", "hardlink,symlink,copy", cwd=clone)
    # (data/teacher_cache/ itself exists: DVC's .gitignore for its outs lives there)
    assert not (clone / "data/teacher_cache/knowdist").exists() and not (clone / ".dvc/cache").exists()
    assert "deleted" in dvc("status", cwd=clone, check=False).stdout

    t0 = time.perf_counter()
    pull = dvc("pull", "-r", "s3", cwd=clone)
    print(f"[s3] pull into a fresh clone: {pull.stdout.strip().splitlines()[-1]} ({time.perf_counter() - t0:.0f}s)")
    # the teacher's answers (knowdist) and label scores (icldist_demo_labels); the ICLDist corpus of
    # the default needs no teacher answer (recombined labels + SNI gold), so its cache folder is empty
    for corpus in ("knowdist", "icldist_demo_labels", "icldist"):
        got = sorted(p.name for p in (clone / "data/teacher_cache" / corpus).glob("*.parquet"))
        assert (got or corpus == "icldist") and got == sorted(
            p.name for p in (repo / "data/teacher_cache" / corpus).glob("*.parquet")
        )
    st = dvc("status", cwd=clone, check=False)
    assert st.returncode == 0 and "up to date" in st.stdout, st.stdout
    ran = stage_runs(dvc("repro", cwd=clone).stdout)
    print(f"[s3] repro after pull ran: {ran}")
    assert ran == []

    # forcing the teacher stages proves the pulled cache serves every prompt: no teacher call
    for corpus in ("knowdist", "icldist"):
        out = clone / f"data/{corpus}/{corpus}_corpus.parquet"
        before = out.read_bytes()
        dvc("repro", "-f", "-s", f"teacher_generate@{corpus}", cwd=clone)
        assert out.read_bytes() == before  # same corpus, straight from the cache
        stats = read_json(clone / f"stats/teacher_{corpus}.json")
        print(
            f"[s3] forced teacher_generate@{corpus}: {stats['cache_hits']}/{stats['unique_prompts']} cache hits, "
            f"{stats['generated']} generated"
        )
        assert stats["generated"] == 0 and stats["cache_hits"] == stats["unique_prompts"]


def test_unreachable_remote_says_what_to_do(tiny_repo: Path, monkeypatch):
    pytest.importorskip("dvc_s3")
    for k, v in FAKE_CREDS.items():
        monkeypatch.setenv(k, v)
    port = _free_port()  # nothing listens there
    dvc("remote", "add", "-f", "dead", f"s3://{BUCKET}/dvc", cwd=tiny_repo)
    dvc("remote", "modify", "dead", "endpointurl", f"http://127.0.0.1:{port}", cwd=tiny_repo)
    dvc("remote", "modify", "dead", "connect_timeout", "2", cwd=tiny_repo)
    monkeypatch.setattr(doctor, "default_remote", lambda root=None: ("dead", f"s3://{BUCKET}/dvc"))
    (f,) = doctor.check_remote(tiny_repo, timeout=120)
    print(f"\n[s3] {f.render()}")
    assert f.status == doctor.FAIL and ("unreachable" in f.detail or "did not answer" in f.detail)
    assert "endpoint" in f.fix or "dvc remote" in f.fix
