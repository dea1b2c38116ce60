"""Retrieval: the MiniLM embedder, the Chroma and BM25 indexes, and hybrid search with filters."""
