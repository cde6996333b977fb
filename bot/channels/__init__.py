"""Custom Rasa channels, loaded by the Rasa server from .venv-rasa; they import nothing of ours."""
