"""Retrieval, ranking, related papers, recommendations, novelty and author profiles."""
