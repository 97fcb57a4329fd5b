"""Embedding models: the only package that imports sentence-transformers and torch."""
