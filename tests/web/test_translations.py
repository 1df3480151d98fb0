"""The UI's words live in gettext catalogues (web/locale/{vi,en}/LC_MESSAGES/benhan.po): every key
has both languages, the same {placeholders} in both, and every key the code and templates use
exists — so a translator can correct the Vietnamese without touching code, and nothing shows a bare
key on a page."""
from __future__ import annotations

import re
import string
from pathlib import Path

from benhan.web import i18n

WEB = Path(i18n.__file__).resolve().parent
PACKAGE = WEB.parent


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders():
    vi, en = i18n.load_catalogue("vi"), i18n.load_catalogue("en")
    assert sorted(vi.keys() - en.keys()) == [], "keys without English"
    assert sorted(en.keys() - vi.keys()) == [], "keys without Vietnamese"
    differing = {k: (vi[k], en[k]) for k in vi if _fields(vi[k]) != _fields(en[k])}
    assert differing == {}


def test_every_key_the_templates_and_code_use_is_in_the_catalogues():
    used: set[str] = set()
    literal = re.compile(r"""\b(?:_?t|translate)\(\s*(?:request\s*,\s*)?["']([a-z][a-z0-9_]*\.[a-z0-9_.\-]+)["']""")
    for path in list((WEB / "templates").rglob("*.html")) + list(PACKAGE.rglob("*.py")):
        used |= set(literal.findall(path.read_text(encoding="utf-8")))
    # keys built at run time ("ui.status." ~ code) are checked by the page tests; literal ones here
    missing = sorted(k for k in used if k not in i18n.MESSAGES and not k.endswith("."))
    assert len(used) > 300, "the scan finds the keys the pages use"
    assert missing == []


def test_a_corrected_catalogue_is_what_the_server_shows(tmp_path, monkeypatch):
    from babel.messages.pofile import read_po, write_po
    with i18n.catalogue_path("vi").open("rb") as f:
        catalogue = read_po(f, locale="vi", domain=i18n.DOMAIN)
    catalogue["ui.save"].string = "Ghi lại"
    target = tmp_path / "vi" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "benhan.po").open("wb") as f:
        write_po(f, catalogue)
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES" / "benhan.po").write_bytes(i18n.catalogue_path("en").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert i18n._load()["ui.save"] == ("Ghi lại", "Save")
