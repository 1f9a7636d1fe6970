"""Verification beyond the single call (SPEC §7, DB23/T 2836 §8.1.5, §8.4.2): QR verification
tokens and their public check (``VerifyQr``), and batch verification."""
