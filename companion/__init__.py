"""companion: a voice-first, offline desktop companion for grounding exercises.

Nothing here imports audio, GUI or recognizer libraries; those load where they are used.
"""

__version__ = "0.1.0"
