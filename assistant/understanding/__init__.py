"""Understanding a message: intents, slots, vocabulary, dialogue state and the LLM reader."""
