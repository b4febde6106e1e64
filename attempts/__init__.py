"""Attempts: case studies, sessions (attempts) with transcripts and grade reports, and the
append-only grant ledger that is the only source of extra attempts.
"""
