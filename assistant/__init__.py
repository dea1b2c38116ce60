"""Assistant: the LangChain chat agent (understanding, state, explanations, knowledge, escalation)."""
