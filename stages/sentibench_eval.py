"""DVC stage ``sentibench_eval@<entry>``: evaluate one model of ``sentibench.models`` on SentiBench.

Writes ``data/sentibench_eval/<entry>/predictions.parquet`` (one row per example and
seed) and ``stats/sentibench/<entry>.json`` (headline: ``metrics/sentibench/<entry>.json``,
read by ``dvc metrics show/diff``). See :mod:`sentidistill.sentibench.run`.
"""

from __future__ import annotations

import argparse

from sentidistill.sentibench.run import evaluate_entry, resolve_entry


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("entry", help="key of sentibench.models in params.yaml (e.g. base-student, teacher)")
    args = ap.parse_args(argv)
    eval_params, model = resolve_entry(args.entry)
    evaluate_entry(args.entry, eval_params, model)


if __name__ == "__main__":
    main()
