"""Fixtures: isolated data/config dirs for every test, and the real headless stand-ins for a desktop:
a private Xvfb with a tray host, and a private PulseAudio with a virtual speaker and a FIFO-fed microphone."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import need


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the router and the crisis model learn from the data files, learned once per run (the cache is keyed
    on the data and code, so sharing it cannot hand a test a stale model)."""
    return tmp_path_factory.mktemp("companion-cache")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> Path:
    """Every test gets its own data, config, runtime and models dirs; nothing touches real files or the checkout."""
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(shared_cache))
    base = tmp_path / "companion-home"
    for name, var in (("data", "COMPANION_DATA_DIR"), ("config", "COMPANION_CONFIG_DIR"),
                      ("run", "COMPANION_RUNTIME_DIR")):
        d = base / name
        d.mkdir(parents=True)
        monkeypatch.setenv(var, str(d))
    (base / "run").chmod(0o700)
    (base / "models").mkdir()
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(base / "models"))
    return base


BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={sock}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def private_bus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A session bus of our own with no service activation: nothing of the machine's desktop leaks in."""
    need("dbus-daemon")
    conf = tmp_path / "bus.conf"
    conf.write_text(BUS_CONF.format(sock=tmp_path / "bus"))
    proc = subprocess.Popen(["dbus-daemon", "--config-file", str(conf), "--nofork", "--print-address=1"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    address = proc.stdout.readline().decode().strip()
    assert address, "dbus-daemon did not start"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="session")
def xdisplay() -> Iterator[str]:
    """Private Xvfb (free display number via -displayfd) + trayer as the XEmbed system tray."""
    need("Xvfb", "trayer")
    r, w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    buf = b""
    while not buf.endswith(b"\n"):  # read "N\n" fully before closing, else Xvfb dies
        chunk = os.read(r, 16)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    disp = ":" + buf.decode().strip()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = disp
    tray = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                             "--height", "32", "--SetDockType", "true", "--transparent", "false",
                             "--tint", "0x202020"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from Xlib import display as xd

    d = xd.Display(disp)
    sel = d.intern_atom("_NET_SYSTEM_TRAY_S0")
    for _ in range(100):
        if d.get_selection_owner(sel):
            break
        time.sleep(0.05)
    else:
        pytest.fail("tray host did not come up")
    d.close()
    time.sleep(0.5)  # trayer owns the selection before it reliably handles dock requests
    yield disp
    tray.terminate()
    xvfb.terminate()
    tray.wait(5)
    xvfb.wait(5)
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Private PulseAudio: null sink 'vspeaker' (default sink, its monitor the default source) and a pipe
    source 'vmic' fed from the FIFO in env["VMIC_FIFO"]. Returns the env for subprocesses."""
    need("pulseaudio", "pactl")
    base = tmp_path_factory.mktemp("pulse")
    run = base / "run"
    (run / "pulse").mkdir(parents=True)
    run.chmod(0o700)
    fifo = base / "vmic.fifo"
    sock = run / "pulse" / "native"
    (base / "default.pa").write_text(
        f"load-module module-native-protocol-unix auth-anonymous=1 socket={sock}\n"
        "load-module module-null-sink sink_name=vspeaker rate=16000 channels=1 norewinds=1\n"
        f"load-module module-pipe-source source_name=vmic file={fifo} format=s16le rate=16000 channels=1\n"
        "set-default-sink vspeaker\nset-default-source vspeaker.monitor\n")
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), HOME=str(base), PULSE_SERVER=f"unix:{sock}")
    p = subprocess.Popen(["pulseaudio", "-n", "-F", str(base / "default.pa"), "--daemonize=no",
                          "--exit-idle-time=-1", "--log-target=file:" + str(base / "pulse.log")], env=env)
    for _ in range(100):
        if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    else:
        p.kill()
        pytest.fail("pulseaudio did not start")
    env["VMIC_FIFO"] = str(fifo)
    yield env
    p.terminate()
    p.wait(5)
