"""Models: the registry (params.yaml ``models:``), package install, and materialization.

Light imports only here; ``materialize`` pulls in torch/transformers when called.
"""
