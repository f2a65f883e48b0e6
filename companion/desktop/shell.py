"""Runs the desktop together: tray (thread), hotkey (pynput thread), pacer (Tk, main thread), check-in
scheduler and the single-instance server, turning user actions into Companion commands on one worker thread.

Each part that cannot work here is reported once and left out; the shell never paces or decides anything.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from companion.core.events import Event
from companion.desktop import hotkey as hotkey_mod
from companion.desktop import message, texts
from companion.desktop.icons import icon_state
from companion.desktop.tray import MenuState
from companion.instance import InstanceServer

log = logging.getLogger(__name__)

EXERCISE_COMMANDS = ("ground", "compassion", "journal", "reframe", "connect", "professional_help")


@dataclass
class ShellOptions:
    tray: bool = True
    hotkey: bool = True
    pacer: bool = True
    scheduler: bool = True
    instance: bool = True
    pacer_log: Path | None = None
    hotkey_debounce: float = hotkey_mod.DEFAULT_DEBOUNCE
    release_after: float = 60.0  # seconds of idle after which what listening loaded is freed


@dataclass
class ShellStatus:
    """What runs, for `show` replies, tests and the benchmark."""

    tray: str = "off"        # off | menu | icon-only | unavailable
    hotkey: str = "off"      # off | on | unavailable
    pacer: str = "off"       # off | on | unavailable
    scheduler: str = "off"
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds since launch


class DesktopShell:
    """Owns the front ends and the app. `app_factory` runs on the worker thread, so the icon appears before
    the app (router, voice, store) has loaded; commands given meanwhile wait for it."""

    def __init__(self, app_factory: Callable[[], Any], *, options: ShellOptions | None = None,
                 notice: Callable[[str], None] | None = None, launched: float | None = None) -> None:
        self.options = options or ShellOptions()
        self._app_factory = app_factory
        self._notice = notice or (lambda text: log.warning("%s", text))
        self.launched = launched if launched is not None else time.monotonic()
        self.status = ShellStatus()
        self.app: Any = None
        self.app_ready = threading.Event()
        self._commands: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any] | None] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="companion-commands", daemon=True)
        self._quit = threading.Event()
        self.tray: Any = None
        self.hotkey: Any = None
        self.pacer: Any = None
        self.scheduler: Any = None
        self._notify: Any = None  # Notifier, False when unavailable, None before the first try
        self._notify_turn = 0
        self.server: InstanceServer | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.settings_window: Any = None  # the Settings window while it is open (Tk thread only)
        self._idle_timer: threading.Timer | None = None

    # --- the worker: one place where app commands run ------------------------------------------------------
    def _mark(self, what: str) -> None:
        self.status.timings[what] = round(time.monotonic() - self.launched, 4)

    def _work(self) -> None:
        try:
            self.app = self._app_factory()
        except Exception as exc:
            log.exception("the companion could not start")
            self._notice(f"The companion could not start: {exc}")
            self.quit()
            return
        self._attach_app()
        trim_memory()  # what building the app freed (a first run's model training) goes back to the system
        self._mark("app_ready")
        self.app_ready.set()
        while True:
            item = self._commands.get()
            if item is None:
                return
            fn, reply = item
            try:
                result = fn()
            except Exception as exc:
                log.exception("command failed")
                result = {"ok": False, "error": str(exc)}
            if reply is not None:
                reply.put(result)

    def submit(self, fn: Callable[[], Any], *, wait: float | None = None) -> Any:
        """Runs `fn` on the worker once the app is ready; with `wait`, returns its result (None: timeout)."""
        reply: queue.Queue[Any] | None = queue.Queue() if wait is not None else None
        self._commands.put((fn, reply))
        if reply is None:
            return None
        try:
            return reply.get(timeout=wait)
        except queue.Empty:
            return None

    def _attach_app(self) -> None:
        bus = self.app.bus
        self._unsubscribe.append(bus.subscribe(self._on_event))
        self._unsubscribe.append(bus.subscribe(self._watch_idle))
        if self.pacer is not None:
            self._unsubscribe.append(bus.subscribe(self.pacer.submit))
        if self.options.scheduler:
            self._start_scheduler()
        self._refresh_look()

    def _on_event(self, event: Event) -> None:
        if event.kind == "state":
            self._refresh_look()

    def _watch_idle(self, event: Event) -> None:
        """After `release_after` seconds of idle, what listening loaded (recognizers, VAD: 150 MB and more) is
        freed; the next Talk loads it again. Any other state cancels the countdown."""
        if event.kind != "state":
            return
        timer, self._idle_timer = self._idle_timer, None
        if timer is not None:
            timer.cancel()
        if event.data.get("state") == "idle" and not self._quit.is_set():
            timer = threading.Timer(self.options.release_after, lambda: self.submit(self._release_idle))
            timer.daemon = True
            timer.start()
            self._idle_timer = timer

    def _release_idle(self) -> None:
        release = getattr(self.app, "release_idle", None)
        if release is not None and getattr(self.app, "state", "") == "idle" and release():
            trim_memory()
            log.info("idle: released the recognizers (they load again on the next Talk)")

    # --- user actions --------------------------------------------------------------------------------------
    def action(self, name: str) -> None:
        """A menu entry or button by name (see tray.menu_actions); runs on the worker."""
        log.info("action %s", name)
        if name == "quit":
            self.quit()
            return
        if name == "settings":
            self.submit(self._open_settings)
            return
        self.submit(lambda: self._act(name))

    def _act(self, name: str) -> Any:
        app = self.app
        kind, _, arg = name.partition(":")
        if kind == "breathe":
            app.start_exercise(arg or app.config.breathing.default_pattern,
                               minutes=app.config.breathing.default_minutes)
            return app.talk(listen_first=False)  # "stop" heard over the voice, answers to the session's questions
        if kind == "snooze":
            minutes = 0 if arg == "resume" else None if arg == "tomorrow" else int(arg)
            app.snooze_checkins(minutes)
            self._refresh_look()
            return None
        if kind in EXERCISE_COMMANDS:
            app.start_exercise(kind)
            return app.talk(listen_first=False)
        if kind == "talk":
            if self.pacer is not None:
                self.pacer.call_soon(self.pacer.open_talk)
            return app.talk()
        if kind == "check_in":
            app.check_in(source="click")
            return app.talk(listen_first=False)  # the one voice loop hears the answer
        if kind == "stop":
            return app.stop()
        if kind == "pause":
            return app.pause()
        if kind == "resume":
            return app.resume()
        if kind == "toggle_breathing":
            app.toggle_breathing()
            return app.talk(listen_first=False) if app.session_running else None
        if kind == "history":
            return self._show_history()
        if kind == "voice":
            info = voice_info()
            if self.pacer is None:
                return app.say(info)
            from companion.desktop.panels import download_choice

            choice = download_choice()
            self.pacer.call_soon(lambda: self.pacer.open_voice_info(info, choice))
            return app.say(info.split(". ")[0].rstrip(".") + ".")  # the first sentence aloud; all of it shown
        raise ValueError(f"unknown action {name!r}")

    def _show_history(self) -> Any:
        """The history window (companion.desktop.history_window; charts drawn here on the worker, which owns the
        store, and matplotlib loaded only now); without a window the picture goes to a file and the image viewer;
        the spoken summary where no chart can be drawn."""
        store = getattr(self.app, "store", None)
        try:
            from companion.core.paths import data_dir
            from companion.desktop.history_plot import render_history_png, write_history_plot

            if store is None:
                raise RuntimeError("no history store")
            window = self.pacer
            if window is not None:
                from companion.desktop.history_window import SPANS, HistoryWindow

                dark = window.theme.name == "dark"
                pictures = {days: render_history_png(store, (days,), height=6.4, dark=dark) for days in SPANS}
                window.call_soon(lambda: setattr(window, "history", HistoryWindow(window.root, window.theme,
                                                                                  pictures)))
                return pictures
            path = write_history_plot(store, data_dir() / "history.png")
        except Exception as exc:
            log.info("history picture unavailable (%s); asking for the spoken summary", exc)
            return self.app.handle_text(texts()["tray"]["history_request"], source="tray")
        self._notice(message("history_written", path=str(path)))
        _open_file(path)
        return path

    def _open_settings(self) -> None:
        """The Settings window (companion.desktop.settings) on the Tk thread; the raw file where there is no
        window (no Tk, `--no-pacer`)."""
        if getattr(self.pacer, "root", None) is None:
            from companion.core.config import ensure_config_file

            path = ensure_config_file()
            self._notice(message("settings_opened", path=str(path)))
            _open_file(path)
            return
        self._on_tk(self._show_settings_window)

    def _on_tk(self, fn: Callable[[], Any]) -> None:
        call_soon = getattr(self.pacer, "call_soon", None)
        if call_soon is not None:
            call_soon(fn)
        else:
            self.pacer.root.after(0, fn)

    def _show_settings_window(self) -> None:
        """On the Tk thread: brings the open Settings window forward, or opens one."""
        win = self.settings_window
        if win is not None and win.alive:
            win.show()
            return
        from companion.desktop.settings import SettingsWindow

        self.settings_window = SettingsWindow(self.pacer.root, on_saved=self._settings_saved, open_file=_open_file)

    def _settings_saved(self, config: Any) -> None:
        """Check-in times apply at once; the rest (voice, hotkey) when the companion next starts."""
        sched = self.scheduler
        if sched is not None:
            from companion.desktop.schedule import CheckinSettings

            sched.update_settings(CheckinSettings.from_config(config))
        self._refresh_look()

    def hotkey_pressed(self) -> None:
        """On pynput's thread, already debounced: hand the toggle to the worker and return at once."""
        self._mark("hotkey")
        self.submit(lambda: self._act("toggle_breathing"))

    def handle_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """The instance server's handler: commands from a second `companion …`."""
        cmd = str(command.get("cmd", ""))
        if cmd == "show":
            return {"ok": True, "shown": self.show(), "status": self.describe()}
        if cmd == "status":
            return {"ok": True, "status": self.describe()}
        if cmd == "quit":
            self.quit()
            return {"ok": True}
        if cmd == "snooze":
            minutes = command.get("minutes")
            self.submit(lambda: self._act(f"snooze:{'tomorrow' if minutes is None else int(minutes)}"))
            return {"ok": True}
        if cmd in EXERCISE_COMMANDS:
            command = {**command, "cmd": "start", "exercise": cmd}
        if not self.app_ready.wait(15):
            return {"ok": False, "error": "the companion is still starting; try again in a moment"}
        handler = getattr(self.app, "handle_command", None)
        if handler is None:
            return {"ok": False, "error": "this companion cannot take commands"}
        reply = self.submit(lambda: handler(command), wait=10.0)
        return reply if isinstance(reply, dict) else {"ok": False, "error": "the companion did not answer"}

    def show(self) -> str:
        """A second launch: the companion window brought forward, else the tray menu opened, else a
        notification saying where the companion is. Returns which ("window", "menu", "notification", "")."""
        pacer = self.pacer
        if pacer is not None and callable(getattr(pacer, "show", None)):
            self._on_tk(pacer.show)
            return "window"
        if self.tray is not None and self.tray.open_menu():
            return "menu"
        notifier = self._notifier()
        if notifier is not None:
            notifier.notify(texts()["tray"]["title"], message("running"))
            return "notification"
        return ""

    def describe(self) -> dict[str, Any]:
        s = self.status
        return {"tray": s.tray, "hotkey": s.hotkey, "pacer": s.pacer, "scheduler": s.scheduler,
                "state": getattr(self.app, "state", "starting"), "pid": os.getpid(), "timings": s.timings,
                "tooltip": self.tray.tooltip_shown() if self.tray is not None else None}

    # --- parts ---------------------------------------------------------------------------------------------
    def _checkins_off(self) -> bool:
        sched = self.scheduler
        if sched is not None:
            return sched.paused_until is not None or not sched.settings.enabled
        app = self.app
        config = getattr(app, "config", None)
        return bool(config is not None and not getattr(getattr(config, "checkins", None), "enabled", True))

    def menu_state(self) -> MenuState:
        """What the tray shows now: the look, the session (running or paused) and the check-ins' pause."""
        app = self.app
        state = getattr(app, "state", "idle") if app is not None else "idle"
        session = bool(app is not None and getattr(app, "session_running", False))
        sched = self.scheduler
        until = sched.paused_until if sched is not None else None
        if until is not None and until <= datetime.now(until.tzinfo):
            until = None  # over; the scheduler notices at its next look
        if sched is not None:
            enabled = bool(sched.settings.enabled)
        else:
            config = getattr(app, "config", None)
            enabled = bool(getattr(getattr(config, "checkins", None), "enabled", True))
        return MenuState(look=icon_state(state, checkins_off=self._checkins_off()), session=session,
                         paused=state == "paused", checkins_paused_until=until, checkins_enabled=enabled)

    def _refresh_look(self) -> None:
        if self.tray is None:
            return
        self.tray.show(self.menu_state())

    def _start_scheduler(self) -> None:
        try:
            from companion.desktop.schedule import CheckinScheduler, CheckinSettings

            settings = CheckinSettings.from_config(self.app.config)
            presence = None
            try:
                from companion.desktop.presence import Presence

                presence = Presence()
            except ImportError:
                log.info("presence checks unavailable; check-ins are not skipped for fullscreen or idle")
            sched = CheckinScheduler(settings, presence=presence, on_due=lambda: self.submit(self._check_in_due))

            def snooze(minutes: int | None) -> None:
                if minutes == 0:
                    sched.resume()
                else:
                    until = sched.snooze(minutes)
                    # the menu's "paused until" line goes when the pause ends
                    wake = threading.Timer(max(0.0, (until - datetime.now(until.tzinfo)).total_seconds()) + 1,
                                           self._refresh_look)
                    wake.daemon = True
                    wake.start()
                self._refresh_look()

            self.app.snooze_handler = snooze
            sched.start()
            self.scheduler = sched
            self.status.scheduler = "on"
        except Exception as exc:
            log.warning("check-ins are off: %s", exc)
            self.status.scheduler = "unavailable"
            self.status.notes.append(f"check-ins are off: {exc}")

    def _check_in_due(self) -> None:
        """A scheduled check-in: the spoken question plus a notification that can be clicked or ignored."""
        if self.app.session_running:
            return  # never interrupt an exercise
        self.app.check_in(source="scheduled")
        self._notify_checkin()
        self.app.talk(listen_first=False)  # the microphone opens once the question has been said

    def _notify_checkin(self) -> None:
        """Buttons (Talk, Not now) where the notification server has them, else a bubble that says to click
        it; a click on the bubble opens the check-in in the window. No server: the window opens it at once."""
        notifier = self._notifier()
        if notifier is None:
            if getattr(self.pacer, "open_panel", None) is not None:
                self.open_checkin()
            return
        from companion.desktop.schedule import CheckinTexts

        texts = CheckinTexts.load()
        self._notify_turn += 1
        click = {"default": texts.actions.get("default", "")}
        if notifier.supports_actions:
            body, actions = texts.pick("bodies", self._notify_turn), {**texts.actions, **click}
        else:
            body, actions = texts.pick("click_bodies", self._notify_turn), click
        notifier.notify(texts.pick("titles", self._notify_turn), body, actions)

    def open_checkin(self) -> None:
        """The check-in in the companion window (its check-in panel); where the window has none, the voice
        check-in (the question, then the one voice loop listens)."""
        open_panel = getattr(self.pacer, "open_panel", None)
        if open_panel is not None:
            self._on_tk(lambda: open_panel("checkin"))
            return

        def by_voice() -> Any:
            self.app.check_in(source="click")
            return self.app.talk(listen_first=False)

        self.submit(by_voice)

    def _notifier(self) -> Any:
        """Opens the desktop notification connection once; None (said once in the log) where there is none."""
        if self._notify is None:
            try:
                from companion.desktop.notify import Notifier

                self._notify = Notifier.open(on_action=self._on_notification_action) or False
            except Exception as exc:
                log.info("desktop notifications unavailable: %s", exc)
                self._notify = False
        return self._notify or None

    def _on_notification_action(self, _nid: int, key: str) -> None:
        if key == "talk":
            self.submit(self.app.talk)
        elif key == "later":
            self.submit(lambda: self.app.snooze_checkins(30))
        elif key == "default":  # a click on the bubble itself
            self.open_checkin()

    def _start_tray(self) -> None:
        from companion.desktop.tray import tray_host_present

        if not tray_host_present():
            self.status.tray = "unavailable"
            self._say_once(message("no_tray_host"))
            # at login the companion can start before the panel: the icon goes in when a tray host appears
            threading.Thread(target=self._wait_for_tray_host, name="tray-host-wait", daemon=True).start()
            return
        self._open_tray()

    def _wait_for_tray_host(self, every: float = 2.0) -> None:
        from companion.desktop.tray import tray_host_present

        while not self._quit.wait(every):
            if tray_host_present():
                self._open_tray()
                if self.tray is not None:
                    self._notice(message("tray_host_arrived"))
                return

    def _open_tray(self) -> None:
        from companion.desktop.tray import Tray, choose_backend

        backend = choose_backend()
        tray = Tray(self.action, backend=backend, state=self.menu_state())
        try:
            tray.start()
        except Exception as exc:  # whatever the backend raises, the hotkey and window keep working
            self.status.tray = "unavailable"
            self._say_once(message("tray_failed", reason=str(exc)))
            return
        if self._quit.is_set():  # quit while a late tray host was coming up
            tray.stop()
            return
        self.tray = tray
        self._mark("tray_visible")
        self.status.tray = "menu" if tray.has_menu else "icon-only"
        if backend.note:
            self._say_once(backend.note)
        self._refresh_look()

    def _start_hotkey(self) -> None:
        status = hotkey_mod.check_available()
        if not status.available:
            self.status.hotkey = "unavailable"
            self._say_once(status.message)
            return
        combo, enabled = hotkey_mod.DEFAULT_COMBO, True
        config = getattr(self.app, "config", None) if self.app is not None else None
        if config is None:
            config = self._load_config()
        if config is not None:
            combo = getattr(config.hotkey, "combo", combo) or combo
            enabled = getattr(config.hotkey, "enabled", True)
        if not enabled:
            self.status.hotkey = "off"
            return
        try:
            hk = hotkey_mod.GlobalHotkey(combo, self.hotkey_pressed, debounce=self.options.hotkey_debounce)
            hk.start()
        except Exception as exc:  # a bad combo or a backend that fails at start
            self.status.hotkey = "unavailable"
            self._say_once(hotkey_mod.fallback_message(str(exc)))
            return
        self.hotkey = hk
        self.status.hotkey = "on"

    @staticmethod
    def _load_config() -> Any:
        try:
            from companion.core.config import load_config

            return load_config()[0]
        except Exception:
            return None

    def _start_pacer(self) -> None:
        """The companion window (companion.desktop.window): its buttons, typed answers and "Again" become the
        same commands the tray gives."""
        from companion.desktop.window import CompanionWindow

        def again(exercise_id: str, kind: str) -> None:
            def start() -> Any:
                app = self.app
                minutes = app.config.breathing.default_minutes if kind == "breathing" else None
                app.start_exercise(exercise_id, minutes=minutes)
                return app.talk(listen_first=False)

            self.submit(start)

        actions: dict[str, Callable[..., Any]] = {
            "pause": lambda: self.action("pause"), "resume": lambda: self.action("resume"),
            "stop": lambda: self.action("stop"), "talk": lambda: self.action("talk"), "again": again,
            "text": lambda line: self.submit(lambda: self.app.handle_text(line, source="typed")),
            "not_now": lambda: self.submit(lambda: self.app.handle_text(texts()["window"]["not_now_said"],
                                                                        source="typed"))}
        try:
            self.pacer = CompanionWindow(actions, log_path=self.options.pacer_log, config=self._load_config())
        except Exception as exc:  # no Tk, no display
            self.status.pacer = "unavailable"
            self._say_once(message("no_pacer", reason=str(exc)))
            return
        self.status.pacer = "on"

    def _say_once(self, text: str) -> None:
        if text not in self.status.notes:
            self.status.notes.append(text)
            self._notice(text)

    # --- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts every part that can work here (call on the main thread); the app loads in the background."""
        if self.options.instance:
            self.server = InstanceServer(self.handle_command)
            self.server.start()  # raises AlreadyRunning: the caller forwards instead
        if self.options.pacer:
            self._start_pacer()  # Tk first, on the main thread
        self._worker.start()
        if self.options.tray:
            self._start_tray()
        if self.options.hotkey:
            self._start_hotkey()
        self._mark("started")

    def run(self) -> int:
        """Blocks on the main thread until quit (tray Quit, SIGTERM, Ctrl+C, `{"cmd": "quit"}`)."""
        previous = signal.signal(signal.SIGTERM, lambda *_: self.quit())
        try:
            if self.pacer is not None:
                # checked from inside the loop: a quit asked before mainloop() runs would otherwise be lost
                self.pacer.root.after(50, self._watch_quit)
                if not self._quit.is_set():
                    self.pacer.root.mainloop()
            else:
                while not self._quit.wait(0.5):
                    pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            self.close()
        return 0

    def _watch_quit(self) -> None:
        if self._quit.is_set():
            self.pacer.root.quit()
            return
        self.pacer.root.after(200, self._watch_quit)

    def quit(self) -> None:
        self._quit.set()

    def close(self) -> None:
        self._quit.set()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self.server is not None:
            self.server.close()
        if self.hotkey is not None:
            self.hotkey.stop()
        if self.tray is not None:
            self.tray.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._notify:
            self._notify.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._commands.put(None)
        if self._worker.is_alive():
            self._worker.join(5)
        if self.app is not None:
            try:
                self.app.close()
            except Exception:
                log.exception("closing the companion failed")
        if self.pacer is not None:
            self.pacer.close()
            try:
                self.pacer.root.destroy()
            except Exception:
                log.debug("Tk destroy failed", exc_info=True)


def trim_memory() -> None:
    """Hands freed heap back to the system (glibc's malloc_trim), so idle RSS shows only what is in use."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        log.debug("malloc_trim unavailable", exc_info=True)


def voice_info() -> str:
    """Which recognizer listens, and how to get the better one (the tray's "How I listen")."""
    from companion.speech.engines import active_engine_info

    info = active_engine_info()
    lines = texts()["voice_info"]
    return str(lines.get(info["engine"], lines["none"])).format(hint=info.get("hint", ""))


def _open_file(path: Path) -> None:
    """Opens a file in the person's default application (xdg-open), detached; silently nothing without one."""
    opener = shutil.which("xdg-open")
    if opener:
        subprocess.Popen([opener, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
