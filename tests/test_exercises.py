"""Exercise files: validation errors name the file, the step and the problem; the library; user overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.core import paths
from companion.core.exercises import (
    AskStep,
    BreatheStep,
    ExerciseError,
    RecordStep,
    SayStep,
    load_exercise_file,
    load_library,
    parse_exercise,
)

GOOD = """
id = "mine"
title = "Mine"
kind = "breathing"
description = "A test pattern."

[[steps]]
type = "say"
text = ["Hello.", "Hi there."]

[[steps]]
type = "pause"
seconds = 1.5

[[steps]]
type = "breathe"
cycles = 3

[[steps.phases]]
name = "inhale"
seconds = 4
cue = "In"

[[steps.phases]]
name = "exhale"
seconds = 6
"""

S = "id = 'x'\ntitle = 'X'\nkind = 'info'\n[[steps]]\n"  # a file up to its first step

B = """
id = "box"
title = "Box"
kind = "breathing"
[[steps]]
type = "say"
text = "Hi"
[[steps]]
type = "say"
text = "Ready"
[[steps]]
type = "breathe"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(text: str, name: str = "box.toml") -> ExerciseError:
    with pytest.raises(ExerciseError) as info:
        parse_exercise(text, Path("/somewhere") / name)
    return info.value


def test_a_good_file_loads_into_frozen_steps(tmp_path):
    ex = load_exercise_file(write(tmp_path, "mine.toml", GOOD))
    assert (ex.id, ex.title, ex.kind, ex.description) == ("mine", "Mine", "breathing", "A test pattern.")
    assert [s.type for s in ex.steps] == ["say", "pause", "breathe"]
    assert isinstance(ex.steps[0], SayStep) and ex.steps[0].text == ("Hello.", "Hi there.")
    breathe = ex.steps[2]
    assert isinstance(breathe, BreatheStep)
    phases = [(p.name, p.seconds, p.cue) for p in breathe.phases]
    assert phases == [("inhale", 4.0, ("In",)), ("exhale", 6.0, ())]
    assert breathe.cycles == 3 and breathe.cycle_seconds == 10.0
    assert ex.path == tmp_path / "mine.toml" and not ex.builtin
    with pytest.raises(AttributeError):
        ex.id = "other"  # type: ignore[misc]


def test_the_documented_message_shape():
    e = error_of(B + 'cycles = 2\nphases = [{ name = "inhale", seconds = -1 }]\n')
    assert str(e) == "box.toml, step 3 (breathe), phase 1 (inhale): seconds must be a positive number, got -1"
    assert e.path == Path("/somewhere/box.toml")
    assert e.where == "step 3 (breathe), phase 1 (inhale)"
    assert e.message == "seconds must be a positive number, got -1"


@pytest.mark.parametrize(("body", "where", "words"), [
    # whole-file problems
    ("id = 'x'\ntitle = 'X'\nkind = 'breathing'\nsteps = [", "", "not valid TOML"),
    ("id = 'Bad Id'\ntitle = 'X'\nkind = 'info'\n[[steps]]\ntype='say'\ntext='a'", "", "'id' must be"),
    ("id = 'x'\nkind = 'info'\n[[steps]]\ntype='say'\ntext='a'", "", "'title' is missing"),
    ("id = 'x'\ntitle = 'X'\nkind = 'yoga'\n[[steps]]\ntype='say'\ntext='a'", "", "'kind' must be one of"),
    ("id = 'x'\ntitle = 'X'\nkind = 'info'", "", "no steps"),
    ("id = 'x'\ntitel = 'X'\nkind = 'info'\n[[steps]]\ntype='say'\ntext='a'", "", "did you mean 'title'"),
    ("id = 'x'\ntitle = 'X'\nkind = 'breathing'\n[[steps]]\ntype='say'\ntext='a'", "", "needs at least one"),
    # step problems
    (S + "type='sing'\ntext='a'", "step 1 (sing)", "'type' must be"),
    (S + "type='say'", "step 1 (say)", "'text' is missing"),
    (S + "type='say'\ntext='  '", "step 1 (say)", "non-empty"),
    (S + "type='say'\ntext=['a', '']", "step 1 (say)", "item 2"),
    (S + "type='say'\ntext=[]", "step 1 (say)", "non-empty list"),
    (S + "type='say'\ntxt='a'", "step 1 (say)", "did you mean 'text'"),
    (S + "type='say'\ntext='Hi {name}'", "step 1 (say)", "{name}"),
    (S + "type='say'\ntext='Hi {'", "step 1 (say)", "stray brace"),
    (S + "type='pause'\nseconds=0", "step 1 (pause)", "positive"),
    (S + "type='pause'\nseconds=true", "step 1 (pause)", "positive"),
    (S + "type='pause'\nseconds=9999", "step 1 (pause)", "at most"),
    (S + "type='goto'\nto='nowhere'", "step 1 (goto)", "no step has"),
    (S + "type='say'\ntext='a'\nwhen='mood'", "step 1 (say)",
     "no step saves"),
    (S + "type='say'\nlabel='a'\ntext='a'\n[[steps]]\ntype='say'\n"
     "label='a'\ntext='b'", "step 2 (say)", "already used by step 1"),
    (S + "type='ask'\ntext='Ok?'\nexpect=['maybe']", "step 1 (ask)",
     "unknown intent 'maybe'"),
    (S + "type='ask'\ntext='Ok?'\nmode='command'", "step 1 (ask)",
     "needs 'expect'"),
    (S + "type='ask'\ntext='Ok?'\nmode='chat'", "step 1 (ask)",
     "'mode' must be"),
    (S + "type='ask'\ntext='Ok?'\nbranches={ yes = 'gone' }",
     "step 1 (ask)", "branch 'yes' goes to 'gone'"),
    (S + "type='ask'\ntext='Ok?'\nbranches={ perhaps = 'end' }",
     "step 1 (ask)", "not an intent"),
    (S + "type='record'\nkind='Journal Entry'\ntext='{answer}'",
     "step 1 (record)", "'kind' must be"),
    (S + "type='record'\nkind='journal'", "step 1 (record)",
     "'text' is missing"),
    # breathing problems
    (B + "phases = [{ name = 'inhale', seconds = 4 }]", "step 3 (breathe)", "default length"),
    (B + "cycles = 2\nminutes = 1\nphases = [{ name = 'inhale', seconds = 4 }]", "step 3 (breathe)",
     "not both"),
    (B + "cycles = 0\nphases = [{ name = 'inhale', seconds = 4 }]", "step 3 (breathe)", "cycles"),
    (B + "minutes = 500\nphases = [{ name = 'inhale', seconds = 4 }]", "step 3 (breathe)", "at most"),
    (B + "cycles = 2", "step 3 (breathe)", "'phases' is missing"),
    (B + "cycles = 2\nphases = [{ name = 'topup', seconds = 1 }]", "step 3 (breathe), phase 1 (topup)",
     "inhale, hold, exhale, rest"),
    (B + "cycles = 2\nphases = [{ name = 'hold' }]", "step 3 (breathe), phase 1 (hold)",
     "'seconds' is missing"),
    (B + "cycles = 2\nphases = [{ name = 'hold', seconds = 'four' }]", "step 3 (breathe), phase 1 (hold)",
     "positive number, got 'four'"),
    (B + "cycles = 2\nphases = [{ name = 'hold', seconds = 4, cue = 3 }]",
     "step 3 (breathe), phase 1 (hold)", "'cue' must be text"),
    (B + "cycles = 2\nphases = [{ name = 'hold', seconds = 4, voice = 'x' }]",
     "step 3 (breathe), phase 1 (hold)", "unknown key 'voice'"),
])
def test_each_kind_of_malformed_file_names_file_step_and_problem(body, where, words):
    e = error_of(body)
    assert e.where == where
    assert words in e.message
    assert str(e).startswith("box.toml")
    assert words in str(e)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(ExerciseError, match="cannot read"):
        load_exercise_file(tmp_path / "absent.toml")
    path = tmp_path / "latin.toml"
    path.write_bytes("id = 'x'\ntitle = 'Caf\xe9'\n".encode("latin-1"))
    with pytest.raises(ExerciseError, match="UTF-8"):
        load_exercise_file(path)


def test_labels_placeholders_and_branches_load():
    ex = parse_exercise("""
id = "flow"
title = "Flow"
kind = "reframe"
[[steps]]
type = "ask"
text = "What's the thought?"
save_as = "belief"
unless = "thought"
branches = { timeout = "done", next = "end" }
[[steps]]
type = "record"
kind = "reframe"
text = "{belief}"
thought = "{thought}"
[[steps]]
type = "say"
label = "done"
text = "Bye {{friend}}."
""", Path("flow.toml"))
    ask = ex.steps[0]
    assert isinstance(ask, AskStep)
    assert (ask.mode, ask.timeout, ask.save_as, ask.unless) == ("open", 60.0, "belief", "thought")
    assert ask.branch("timeout") == "done" and ask.branch("yes") is None
    assert isinstance(ex.steps[1], RecordStep) and ex.steps[1].thought == "{thought}"
    assert ex.label_index("done") == 2


def test_library_lists_builtins_and_rejects_unknown_ids():
    lib = load_library()
    assert {"box", "4-7-8", "coherent", "sigh", "ground", "compassion", "reframe", "journal", "connect",
            "professional_help"} <= set(lib.ids())
    assert lib.breathing_ids()[:4] == ["box", "4-7-8", "coherent", "sigh"]
    assert lib.problems == [] and lib.overridden == []
    assert all(ex.builtin for ex in lib)
    with pytest.raises(KeyError) as info:
        lib.get("yoga")
    assert "yoga" in str(info.value) and "box" in str(info.value) and "sigh" in str(info.value)


def test_user_file_overrides_a_builtin_by_id():
    folder = paths.user_exercises_dir()
    write(folder, "my-box.toml", GOOD.replace('id = "mine"', 'id = "box"').replace('"Mine"', '"My box"'))
    lib = load_library()
    assert lib.get("box").title == "My box" and not lib.get("box").builtin
    assert lib.overridden == ["box"] and lib.problems == []
    assert "box" in lib.breathing_ids()


def test_user_files_add_exercises_and_broken_ones_are_listed_not_fatal(tmp_path):
    folder = tmp_path / "mine"
    write(folder, "extra.toml", GOOD)
    write(folder, "broken.toml", GOOD.replace("seconds = 6", "seconds = -6"))
    write(folder, "twin.toml", GOOD.replace('title = "Mine"', 'title = "Twin"'))
    write(folder, "notes.txt", "not an exercise")
    lib = load_library(folder)
    assert "mine" in lib.ids() and lib.get("mine").title == "Mine"  # extra.toml sorts before twin.toml
    assert len(lib.problems) == 2
    broken = next(p for p in lib.problems if p.startswith("broken.toml"))
    assert "step 3 (breathe), phase 2 (exhale): seconds must be a positive number, got -6" in broken
    assert "skipped" in broken
    twin = next(p for p in lib.problems if p.startswith("twin.toml"))
    assert "also used by extra.toml" in twin


def test_missing_user_dir_is_fine(tmp_path):
    lib = load_library(tmp_path / "nothing-here")
    assert lib.problems == [] and "box" in lib


def test_spoken_lines_are_every_fixed_line_once_for_a_slow_voice_to_render_ahead():
    from companion.core.exercises import BreatheStep, load_library

    box = load_library(None).get("box")
    lines = box.spoken_lines()
    assert len(lines) == len(set(lines)) and all("{" not in line for line in lines)
    [breathe] = [s for s in box.steps if isinstance(s, BreatheStep)]
    assert set(breathe.phases[0].cue) <= set(lines)  # every inhale cue is there
