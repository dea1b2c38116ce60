"""Ranking: the fine-tuned BERT recommender, user profiles and baselines."""
