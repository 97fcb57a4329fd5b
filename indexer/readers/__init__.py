"""Streaming readers: one module per source format, each yields Paper records."""
