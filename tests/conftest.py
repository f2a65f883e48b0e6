"""Fixtures: isolated data/config dirs for every test, and the real headless stand-ins for a desktop:
a private Xvfb with a tray host, and a private PulseAudio with a virtual speaker and a FIFO-fed microphone."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import need, start_pulse, start_tray_host, start_xvfb


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
                      ("run", "COMPANION_RUNTIME_DIR"), ("documents", "COMPANION_EXPORT_DIR")):
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
    xvfb, disp = start_xvfb()
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = disp
    try:
        tray = start_tray_host(disp)
    except RuntimeError as exc:
        xvfb.terminate()
        pytest.fail(str(exc))
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
    try:
        p, env = start_pulse(tmp_path_factory.mktemp("pulse"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield env
    p.terminate()
    p.wait(5)
