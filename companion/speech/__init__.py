"""Speech in and out: the companion's voice (tts), recognizers, microphone and model management.

Nothing here is imported by the core; each engine loads only when the person's setup asks for it.
"""
