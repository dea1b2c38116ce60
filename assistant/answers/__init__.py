"""Answers: explanations, the fact checker, the policy knowledge base and fixed replies."""
