"""The console's Flask extensions, created once and bound to the app in ``init_console``: Babel
(Chinese by default, English switchable) and CSRF protection of every form."""

from __future__ import annotations

from flask import g, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "cadre_lang"

babel = Babel()
csrf = CSRFProtect()


def choose_language() -> None:
    """``?lang=en`` (or ``zh``) switches the language and is remembered in a cookie; otherwise the
    cookie's choice, otherwise Chinese."""
    asked = request.args.get("lang", "")
    if asked in LANGUAGES:
        g.lang, g.lang_changed = asked, asked != request.cookies.get(LANG_COOKIE)
        return
    cookie = request.cookies.get(LANG_COOKIE, "")
    g.lang, g.lang_changed = (cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE), False


def locale() -> str:
    return str(g.get("lang", DEFAULT_LANGUAGE))
