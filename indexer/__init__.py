"""Readers, the on-disk store (SQLite + derived FAISS and BM25 indexes) and ingestion."""
