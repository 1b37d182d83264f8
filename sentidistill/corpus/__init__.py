"""The distillation corpus (paper Section 4.1): ingest + normalize, deduplicate,
decontaminate against SentiBench, and sample the KnowDist / ICLDist pools.

Modules: :mod:`~sentidistill.corpus.normalize`, :mod:`~sentidistill.corpus.ingest`,
:mod:`~sentidistill.corpus.minhash` (batched datasketch-compatible signatures),
:mod:`~sentidistill.corpus.dedup`, :mod:`~sentidistill.corpus.decontaminate`,
:mod:`~sentidistill.corpus.pools`, :mod:`~sentidistill.corpus.accounting` and
:mod:`~sentidistill.corpus.artifacts` (file names, columns, value sets). Each stage module
ends with its ``run_*`` function over explicit paths. See docs/corpus.md.
"""
