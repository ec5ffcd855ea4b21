"""Moodle's text output functions, as web services apply them to names, descriptions and dates.

Every answer that carries a name goes through ``format_string`` and every rich text through
``format_text``, in each area alike: a client that learnt to unescape one area's names can trust the
others. Dates are written as Moodle's English language pack writes them.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = 0, 1, 2, 4

# replace_ampersands_not_followed_by_entity(): what Moodle takes for an entity is 1-8 letters, digits or #.
_BARE_AMPERSAND = re.compile(r"&(?![a-zA-Z0-9#]{1,8};)")
# PHP's strip_tags: a "<" not followed by white space opens a tag, which runs to ">" or the end.
_TAG = re.compile(r"<[^\s>][^>]*(?:>|$)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_ANY_TAG = re.compile(r"<[^>]*>")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def escape_ampersands(text: str) -> str:
    """An ``&`` that does not start an entity becomes ``&amp;``; entities are left alone."""
    return _BARE_AMPERSAND.sub("&amp;", text)


def strip_tags(text: str) -> str:
    return _TAG.sub("", text)


def format_string(text: object) -> str:
    """``format_string`` with ``formatstringstriptags`` on (Moodle's default): tags stripped, then
    ``&``, ``<`` and ``>`` escaped, so a name never carries markup."""
    if not text:
        return ""
    if text.__class__ is str:
        return _format_name(str(text))
    return _format_name.__wrapped__(str(text))


@lru_cache(maxsize=65536)
def _format_name(text: str) -> str:
    """Names recur (a course's in every enrolled user's listing): each is formatted once."""
    return strip_tags(escape_ampersands(text)).replace("<", "&lt;").replace(">", "&gt;")


def format_text(text: object, textformat: int | None) -> tuple[str, int]:
    """``\\core_external\\util::format_text``: the text as HTML, and FORMAT_HTML as its new format."""
    if not text:
        return "", FORMAT_HTML
    value = str(text)
    if textformat == FORMAT_PLAIN:
        return html.escape(value, quote=False).replace("\n", "<br />\n"), FORMAT_HTML
    if textformat == FORMAT_MOODLE:
        body = escape_ampersands(value).replace("\n", "<br />\n")
        return f'<div class="text_to_html">{body}</div>', FORMAT_HTML
    return escape_ampersands(value), FORMAT_HTML


def escape(text: object) -> str:
    """``s()``-like escaping of a value shown inside generated HTML (report cells, links)."""
    value = text if text.__class__ is str else str(text)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # html.escape, no quotes


def html_to_text(text: str) -> str:
    """A small ``html_to_text``: paragraphs and breaks become new lines, tags go, entities decode."""
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</p>", "\n", text)
    return html.unescape(_ANY_TAG.sub("", text))


def count_words(text: str) -> int:
    """Moodle's ``count_words``: tags removed, each CJK character counts as a word."""
    plain = _ANY_TAG.sub(" ", text)
    cjk = len(_CJK.findall(plain))
    rest = _CJK.sub(" ", plain)
    return cjk + len([word for word in re.split(r"[\s\u3000]+", rest) if word.strip()])


def count_letters(text: str) -> int:
    """Moodle's ``count_letters``: characters (not bytes) without tags and white space."""
    return len(re.sub(r"\s", "", _ANY_TAG.sub("", text)))


def userdate(timestamp: int, tz: tzinfo = UTC) -> str:
    """``userdate`` with ``strftimedaydatetime`` in English: ``Friday, 27 November 2026, 8:22 PM``."""
    moment = datetime.fromtimestamp(int(timestamp), tz)
    hour = moment.hour % 12 or 12
    return (f"{_DAYS[moment.weekday()]}, {moment.day} {_MONTHS[moment.month - 1]} {moment.year}, "
            f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}")


class Userdates:
    """``userdate`` of many timestamps in one timezone, as a report of thousands of rows needs it: the
    zone's offset is looked up once per hour (when it does not change within that hour) and each day's
    name once, instead of building a zoned datetime per cell. The strings are ``userdate``'s."""

    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz
        self._offsets: dict[int, int | None] = {}

    def __call__(self, timestamp: int) -> str:
        moment = int(timestamp)
        hour = moment // 3600
        offset = self._offsets.get(hour, -1)
        if offset == -1:
            offset = self._offsets[hour] = _steady_offset(self.tz, hour)
        if offset is None:
            return userdate(moment, self.tz)
        local = moment + offset
        minutes = local % 86400 // 60
        hours = minutes // 60
        clock = f"{hours % 12 or 12}:{minutes % 60:02d} {'AM' if hours < 12 else 'PM'}"
        return f"{_day_name(local // 86400)}, {clock}"


@lru_cache(maxsize=1 << 17)
def _steady_offset(tz: tzinfo, hour: int) -> int | None:
    """The zone's UTC offset in seconds through one hour (counted from the epoch); None if it changes."""
    first = datetime.fromtimestamp(hour * 3600, tz).utcoffset()
    last = datetime.fromtimestamp(hour * 3600 + 3599, tz).utcoffset()
    if first is None or first != last:
        return None
    return int(first.total_seconds())


@lru_cache(maxsize=1 << 15)
def _day_name(day: int) -> str:
    """``Friday, 27 November 2026`` for a day counted from the epoch."""
    date = datetime.fromtimestamp(day * 86400, UTC)
    return f"{_DAYS[date.weekday()]}, {date.day} {_MONTHS[date.month - 1]} {date.year}"
