"""The headless core: sessions, understanding, storage and config.

Must never import GUI, audio or recognizer libraries: every front end drives it the same way.
"""
