"""Certificate serials: 130 random bits from ``secrets`` written as 26 characters of Crockford's base32.

Nobody can guess a serial from another one, and a reader copying one by hand cannot confuse letters:
the alphabet has no I, L, O or U, and reading accepts lower case, hyphens and spaces, and I/L for 1 and
O for 0. Serials are stored in their 26-character form and printed in groups of five for reading.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 26
BITS = 5 * LENGTH  # 130: at least the 128 bits a serial must not be guessable with
GROUPS = (5, 5, 5, 5, 6)
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})
_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}


def new_serial() -> str:
    number = secrets.randbits(BITS)
    chars = []
    for _ in range(LENGTH):
        number, digit = divmod(number, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def canonical(text: str) -> str | None:
    """The stored form of a serial as someone typed or scanned it, or None when it cannot be one."""
    if len(text) > 2 * LENGTH:
        return None
    serial = text.strip().upper().translate(_READ_AS)
    if len(serial) != LENGTH or any(ch not in _VALUES for ch in serial):
        return None
    return serial


def display(serial: str) -> str:
    """``ABCDE-FGHJK-MNPQR-STVWX-YZ0123``: the serial as printed on a certificate."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(serial[start:start + size])
        start += size
    return "-".join(parts)
