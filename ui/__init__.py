"""UI: the Gradio chat and HTTP API in one server, and the shopassist CLI."""
