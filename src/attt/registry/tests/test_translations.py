import re
from pathlib import Path

import polib

PO_FILE = Path(__file__).resolve().parents[1] / "locale" / "vi" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def test_every_registry_string_has_a_vietnamese_translation():
    catalogue = polib.pofile(str(PO_FILE))
    assert catalogue.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert catalogue.percent_translated() == 100, [e.msgid for e in catalogue.untranslated_entries()][:10]
    assert not catalogue.fuzzy_entries()
    for entry in catalogue:
        translated = entry.msgstr or entry.msgstr_plural[0]
        assert set(PLACEHOLDER.findall(entry.msgid)) == set(PLACEHOLDER.findall(translated)), entry.msgid


def test_official_terms():
    catalogue = {e.msgid: e.msgstr for e in polib.pofile(str(PO_FILE))}
    assert catalogue["Owner"] == "Chủ quản"
    assert catalogue["Operating unit"] == "Đơn vị vận hành"
    assert catalogue["Information systems"] == "Hệ thống thông tin"
    assert catalogue["decided level"] == "cấp độ được quyết định"
