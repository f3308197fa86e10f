"""Validation of the national identifiers the city works with.

- Resident identity number, GB 11643-1999: 17 digits and an ISO 7064 MOD 11-2 check character.
- Unified social credit code, GB 32100-2015: 18 characters over a 31-symbol alphabet with a
  MOD 31 check character.
- Mainland mobile numbers (11 digits starting 13-19).

Functions return the normalized value or raise :class:`NumberError` with a stable code.
"""

from __future__ import annotations

import re
from datetime import date

ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# First character: the registration authority (GB 32100-2015 table 1).
CREDIT_AUTHORITIES = set("123456789ANY")

_PHONE = re.compile(r"1[3-9][0-9]{9}")  # ASCII digits only: \d also matches ١ and ０


class NumberError(ValueError):
    """An identifier failed validation; ``code`` names the problem for the API."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the normalized 18-character resident ID number or raise ``NumberError``."""
    number = (value or "").strip().upper()
    if len(number) != 18:
        raise NumberError("id_number_invalid", "length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise NumberError("id_number_invalid", "characters")
    if number[0] not in "12345678":
        raise NumberError("id_number_invalid", "region")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise NumberError("id_number_invalid", "birth_date") from None
    if born > (today or date.today()) or born.year < 1900:
        raise NumberError("id_number_invalid", "birth_date")
    if id_check_char(number[:17]) != number[17]:
        raise NumberError("id_number_invalid", "check_digit")
    return number


def birth_date_of(id_number: str) -> date:
    """Birth date encoded in a validated ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def credit_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Return the normalized unified social credit code or raise ``NumberError``."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise NumberError("credit_code_invalid", "length")
    if any(c not in CREDIT_ALPHABET for c in code):
        raise NumberError("credit_code_invalid", "characters")
    if code[0] not in CREDIT_AUTHORITIES or not code[2:8].isdigit():
        raise NumberError("credit_code_invalid", "structure")
    if credit_check_char(code[:17]) != code[17]:
        raise NumberError("credit_code_invalid", "check_digit")
    return code


def validate_phone(value: str) -> str:
    """Return the 11-digit mainland mobile number (``+86`` and separators dropped)."""
    phone = re.sub(r"[\s-]", "", value or "")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    if not _PHONE.fullmatch(phone):
        raise NumberError("phone_invalid", "format")
    return phone


def mask_id_number(number: str) -> str:
    """First and last character visible: ``3****************X``.

    Not the common first-3-last-4: next to a birth date and a district (the profile shows
    both), those seven characters let anyone rebuild the whole number, since the hidden
    ones are the district's code and the birth date. With these two, three digits stay
    unknown whatever else the reader has seen.
    """
    if len(number) <= 2:
        return "*" * len(number)
    return number[0] + "*" * (len(number) - 2) + number[-1]


def mask_phone(phone: str) -> str:
    """``138****0001``."""
    if len(phone) != 11:
        return "*" * len(phone)
    return phone[:3] + "****" + phone[-4:]


def mask_name(name: str) -> str:
    """Keep the family name: ``王**``."""
    return name[:1] + "*" * (len(name) - 1) if name else name
