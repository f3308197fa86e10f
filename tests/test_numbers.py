"""Validation of ID numbers (GB 11643), credit codes (GB 32100) and phones, as tables and properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app_api.identity.numbers import (
    CREDIT_ALPHABET,
    NumberError,
    credit_check_char,
    id_check_char,
    mask_id_number,
    mask_phone,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)

# The worked example of GB 11643-1999 and the example code of GB 32100-2015.
GB_ID_EXAMPLE = "11010519491231002X"
GB_CREDIT_EXAMPLE = "91350100M000100Y43"


def test_standard_examples_are_valid() -> None:
    assert validate_id_number(GB_ID_EXAMPLE) == GB_ID_EXAMPLE
    assert validate_id_number(GB_ID_EXAMPLE.lower()) == GB_ID_EXAMPLE
    assert validate_credit_code(GB_CREDIT_EXAMPLE) == GB_CREDIT_EXAMPLE
    assert validate_credit_code(f" {GB_CREDIT_EXAMPLE.lower()} ") == GB_CREDIT_EXAMPLE


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100AX", "characters"),
        ("11010519491231002Y", "characters"),
        ("01010519491231002X", "region"),
        ("110105194913310026", "birth_date"),
        ("110105203001010029", "birth_date"),
        ("110105194912310021", "check_digit"),
        ("１１０１０５１９４９１２３１００２Ｘ", "characters"),
    ],
)
def test_bad_id_numbers(value: str, reason: str) -> None:
    with pytest.raises(NumberError) as caught:
        validate_id_number(value, today=date(2026, 11, 1))
    assert caught.value.code == "id_number_invalid"
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "length"),
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100I43", "characters"),
        ("91350100M000100O43", "characters"),
        ("9135010-M000100Y43", "characters"),
        ("B1350100M000100Y43", "structure"),
        ("9135A100M000100Y43", "structure"),
        ("91350100M000100Y44", "check_digit"),
    ],
)
def test_bad_credit_codes(value: str, reason: str) -> None:
    with pytest.raises(NumberError) as caught:
        validate_credit_code(value)
    assert caught.value.code == "credit_code_invalid"
    assert caught.value.reason == reason


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 10, 31))


@given(region=st.integers(110000, 829999), born=birth_dates, seq=st.integers(0, 999))
def test_any_correctly_built_id_number_validates(region: int, born: date, seq: int) -> None:
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    number = first17 + id_check_char(first17)
    assert validate_id_number(number, today=date(2026, 11, 1)) == number


@given(
    born=birth_dates, seq=st.integers(0, 999), position=st.integers(0, 16), delta=st.integers(1, 9)
)
def test_any_single_digit_error_is_caught(born: date, seq: int, position: int, delta: int) -> None:
    first17 = f"321302{born:%Y%m%d}{seq:03d}"
    number = first17 + id_check_char(first17)
    wrong = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    with pytest.raises(NumberError):
        validate_id_number(wrong, today=date(2026, 11, 1))


credit_bodies = st.tuples(
    st.sampled_from("123456789ANY"),
    st.sampled_from(CREDIT_ALPHABET),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(CREDIT_ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(body=credit_bodies)
def test_any_correctly_built_credit_code_validates(body: str) -> None:
    code = body + credit_check_char(body)
    assert validate_credit_code(code) == code


@given(body=credit_bodies, position=st.integers(8, 16), shift=st.integers(1, 30))
def test_any_single_character_substitution_in_a_credit_code_is_caught(
    body: str, position: int, shift: int
) -> None:
    code = body + credit_check_char(body)
    replaced = CREDIT_ALPHABET[(CREDIT_ALPHABET.index(code[position]) + shift) % 31]
    wrong = code[:position] + replaced + code[position + 1 :]
    with pytest.raises(NumberError):
        validate_credit_code(wrong)


@pytest.mark.parametrize(
    "raw", ["13800000001", "+8613800000001", "0086 138 0000 0001", "138-0000-0001"]
)
def test_phone_normalization(raw: str) -> None:
    assert validate_phone(raw) == "13800000001"


def test_masks_show_only_what_a_clerk_may_see() -> None:
    assert mask_id_number(GB_ID_EXAMPLE) == "1****************X"
    assert mask_phone("13800000001") == "138****0001"
