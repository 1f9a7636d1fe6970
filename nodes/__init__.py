"""One sharing-system node (SPEC §1-§4): data model, store, accounts and tokens, the ten methods,
catalog index and ingest, issuing, files. Run one with ``python -m nodes --topology F --node ID``.
"""
