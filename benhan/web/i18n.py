"""Vietnamese first, English too: the UI's messages by key, and the language of a request
(the `lang` cookie set by /lang, else the browser's Accept-Language, else Vietnamese).

The messages live in gettext catalogues, the form translators and their tools (Poedit, Weblate,
Lokalize) know: `web/locale/vi/LC_MESSAGES/benhan.po` and `web/locale/en/LC_MESSAGES/benhan.po`.
Each entry's msgid is the message key (`ui.save`), its msgstr the text, and a translator comment
gives the other language's text. Read with Babel when the server starts (no compile step: a
corrected .po file takes effect at the next start). A test fails when a key lacks either language or
the two texts disagree on their {placeholders} (tests/web/test_translations.py).
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from starlette.requests import Request

LANGUAGES = ("vi", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "benhan"


def catalogue_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_catalogue(lang: str) -> dict[str, str]:
    """key → text of one language's catalogue (entries without a text are left out)."""
    with catalogue_path(lang).open("rb") as f:
        catalogue = read_po(f, locale=lang, domain=DOMAIN)
    return {m.id: m.string for m in catalogue if m.id and isinstance(m.id, str) and m.string}


def _load() -> dict[str, tuple[str, str]]:
    vi, en = load_catalogue("vi"), load_catalogue("en")
    # A text missing in one language falls back to the other rather than showing a bare key
    # (the test keeps both complete).
    return {k: (vi.get(k) or en[k], en.get(k) or vi[k]) for k in sorted(vi.keys() | en.keys())}


MESSAGES: dict[str, tuple[str, str]] = _load()


def language(request: Request) -> str:
    chosen = request.cookies.get("lang")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",")[0].strip()
    return "en" if first.startswith("en") else "vi"


def translate(key: str, lang: str, **values: object) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    text = pair[LANGUAGES.index(lang) if lang in LANGUAGES else 0]
    return text.format(**values) if values else text
