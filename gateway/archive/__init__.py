"""The tamper-evident archive: every byte stored once by SHA-256, hash-chained entries, signed checkpoints, proofs, audit export.

`Archive` (service.py) is the entry point; `verifier.py` is the stand-alone verifier
shipped in every audit export, and the single definition of every hash.
"""
