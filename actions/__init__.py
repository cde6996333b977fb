"""The action server's code: rasa_sdk actions and the pure parsing and scoring they call."""
