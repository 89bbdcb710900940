"""The English catalogue: every Japanese string the pages and code mark for translation has an English
translation, no translation repeats itself, and the compiled .mo matches the .po."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(ROOT.glob("*/locale/en/LC_MESSAGES/django.po"))
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def repeated(text: str) -> bool:
    """True when ``text`` is one text two or more times over, or repeats one of its sentences."""
    for times in (2, 3, 4):
        if text and len(text) % times == 0 and text[: len(text) // times] * times == text:
            return True
    sentences = [s for s in re.split(r"(?<=[.!?。])\s*", text.strip()) if s]
    return len(sentences) != len(set(sentences))


def test_there_is_a_catalogue():
    assert ROOT / "karte/locale/en/LC_MESSAGES/django.po" in CATALOGUES


def test_the_repetition_check_finds_repetitions():
    assert repeated("Map.Map.") and repeated("A note. Another. A note.") and repeated("abcabcabc")
    assert not repeated("A note. Another note.") and not repeated("")


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_translation_repeats_itself(path):
    catalogue = polib.pofile(str(path))
    assert [entry.msgid for entry in catalogue if repeated(entry.msgstr)] == []
    assert [entry.msgid for entry in catalogue
            if any(repeated(text) for text in entry.msgstr_plural.values())] == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_matches_the_po(path):
    source = {(e.msgctxt, e.msgid): e.msgstr for e in polib.pofile(str(path)) if e.translated() and not e.obsolete}
    compiled = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(path.with_suffix(".mo"))) if e.msgid}
    assert compiled == source, "recompile: msgfmt --check -o django.mo django.po"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_japanese_string_marked_for_translation_is_translated(path, tmp_path):
    assert shutil.which("xgettext"), "GNU gettext missing: scripts/system-deps.sh test installs it"
    # Extract the app's messages afresh (makemessages = xgettext over its templates and code) into a
    # copy, and compare with the committed catalogue.
    app = path.parents[3]
    copy = tmp_path / app.name
    shutil.copytree(app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    (copy / "locale/en/LC_MESSAGES/django.po").unlink()
    # Run inside the copy: makemessages writes each file's messages to the nearest locale/ folder
    # above it, which for every file of the copy is the copy's own (the committed one stays as it is).
    command = [
        sys.executable, str(ROOT / "manage.py"), "makemessages", "--locale", "en", "--no-obsolete", "--no-location",
        "--ignore", "static/*",
    ]
    before = path.read_bytes()
    subprocess.run(command, cwd=copy, check=True, capture_output=True, text=True, timeout=300)
    assert path.read_bytes() == before
    extracted = polib.pofile(str(copy / "locale/en/LC_MESSAGES/django.po"))
    committed = {(e.msgctxt, e.msgid): e for e in polib.pofile(str(path))}
    japanese = [e for e in extracted if JAPANESE.search(e.msgid)]
    assert len(japanese) > 50  # the extraction found the pages' strings
    missing = [e.msgid for e in japanese if (e.msgctxt, e.msgid) not in committed]
    untranslated = [e.msgid for e in japanese
                    if (e.msgctxt, e.msgid) in committed and not committed[(e.msgctxt, e.msgid)].translated()]
    assert missing == [], f"{len(missing)} strings not in {path.relative_to(ROOT)} (run makemessages, translate)"
    assert untranslated == []
