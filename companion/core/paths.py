"""Where the companion keeps things: platformdirs locations, overridable by environment for tests.

COMPANION_DATA_DIR, COMPANION_CONFIG_DIR and COMPANION_RUNTIME_DIR replace the platform defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "companion"


def data_dir() -> Path:
    """The database, exports and (outside a checkout) downloaded models."""
    return Path(os.environ.get("COMPANION_DATA_DIR") or platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    """config.toml and the person's own exercise files (exercises/*.toml)."""
    return Path(os.environ.get("COMPANION_CONFIG_DIR") or platformdirs.user_config_dir(APP, appauthor=False))


def config_file() -> Path:
    return config_dir() / "config.toml"


def user_exercises_dir() -> Path:
    return config_dir() / "exercises"


def db_path() -> Path:
    return data_dir() / "companion.sqlite3"


def runtime_dir() -> Path:
    """Sockets and locks; user-only."""
    env = os.environ.get("COMPANION_RUNTIME_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_runtime_dir(APP, appauthor=False))


def cache_dir() -> Path:
    """What the companion learns from its data files at first start (router, crisis model): COMPANION_CACHE_DIR,
    else cache/ beside the data when COMPANION_DATA_DIR is set (tests), else the platform's cache folder."""
    if os.environ.get("COMPANION_CACHE_DIR"):
        return Path(os.environ["COMPANION_CACHE_DIR"])
    if os.environ.get("COMPANION_DATA_DIR"):
        return Path(os.environ["COMPANION_DATA_DIR"]) / "cache"
    return Path(platformdirs.user_cache_dir(APP, appauthor=False))


def checkout_models_dir() -> Path | None:
    """`models/` of a source checkout (it holds a README saying so), or None for an installed package."""
    candidate = Path(__file__).resolve().parents[2] / "models"
    return candidate if (candidate / "README.md").is_file() else None


def models_dir() -> Path:
    """Recognizer models: COMPANION_MODELS_DIR, else the checkout's models/, else the data dir."""
    env = os.environ.get("COMPANION_MODELS_DIR")
    if env:
        return Path(env)
    return checkout_models_dir() or data_dir() / "models"


def exports_dir() -> Path:
    """Where a copy asked for in conversation is written: the person's Documents folder (home if there is none)."""
    if os.environ.get("COMPANION_EXPORT_DIR"):
        return Path(os.environ["COMPANION_EXPORT_DIR"])
    documents = Path(platformdirs.user_documents_dir())
    return documents if documents.is_dir() else Path.home()
