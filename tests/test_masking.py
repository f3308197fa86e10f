"""Personal numbers are masked in responses and never appear unmasked in a log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app_api import logs
from app_api.identity.models import Resident
from app_api.identity.numbers import id_check_char, mask_name
from integrations.sandbox.registry import registered_name
from tests.conftest import Env

ID_NUMBER = "11010519491231002X"


def test_log_lines_mask_id_numbers_and_phones(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    structlog.get_logger("t").info(
        "lookup", note=f"id {ID_NUMBER} phone 13800000001", nested={"id": ID_NUMBER}
    )
    logging.getLogger("stdlib").warning("resident %s called from %s", ID_NUMBER, "13800000001")
    err = capsys.readouterr().err
    assert ID_NUMBER not in err and "13800000001" not in err
    first = json.loads(err.splitlines()[0])
    assert first["note"] == "id 1****************X phone 138****0001"
    assert first["nested"]["id"] == "1****************X"
    assert "1****************X" in err.splitlines()[1]


async def test_identity_binding_masks_and_encrypts(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.sandbox.upstream("population").registry.register_phone("13600000001", ID_NUMBER)
    name = registered_name(ID_NUMBER)
    tokens = await env.login("13600000001")
    resp = await env.client.put(
        "/api/v1/profile/identity",
        json={"name": name, "id_number": ID_NUMBER.lower()},
        headers=env.auth(tokens),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id_number"] == "1****************X"
    assert body["birth_date"] == "1949-12-31"
    assert body["gender"] == "F"
    row = await Resident.get(phone="13600000001")
    assert ID_NUMBER not in (row.id_number_sealed or "")
    assert row.id_number_index and ID_NUMBER not in row.id_number_index
    profile = await env.client.get("/api/v1/profile", headers=env.auth(tokens))
    assert ID_NUMBER not in profile.text
    me = await env.client.get("/api/v1/me", headers=env.auth(tokens))
    assert me.json()["real_name_verified"] is True
    assert me.json()["name"] == mask_name(name)
    assert ID_NUMBER not in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", ["", "123", "11010519491231002Y", "110105194912310021", "abcdefghijklmnopqr"]
)
async def test_bad_id_number_writes_nothing(env: Env, bad: str) -> None:
    tokens = await env.login("13600000001")
    resp = await env.client.put(
        "/api/v1/profile/identity",
        json={"name": "张三丰", "id_number": bad},
        headers=env.auth(tokens),
    )
    assert resp.status_code == 422
    assert resp.json()["code"] in ("id_number_invalid", "validation_failed")
    row = await Resident.get(phone="13600000001")
    assert row.id_number_sealed is None and row.name is None


def _numbers_fitting(profile: dict, district: str) -> list[str]:
    """Every ID number consistent with one profile answer and the resident's district code
    (the demo city's profiles show it), as an attacker would enumerate them."""
    masked = profile["id_number"]
    born = profile["birth_date"].replace("-", "")
    fits = []
    for sequence in range(1000):
        head = f"{district}{born}{sequence:03d}"
        number = head + id_check_char(head)
        shown = [(i, c) for i, c in enumerate(masked) if c != "*"]
        if len(number) == len(masked) and all(number[i] == c for i, c in shown):
            fits.append(number)
    return fits


async def test_the_masked_number_cannot_be_rebuilt_from_the_rest_of_the_profile(
    env: Env,
) -> None:
    # A relative with view_profile sees the masked number next to the birth date and the
    # district; the hidden characters must not all follow from those.
    number = "321311195208210247"
    tokens = await env.verified("13600000002", number)
    profile = (await env.client.get("/api/v1/profile", headers=env.auth(tokens))).json()
    fits = _numbers_fitting(profile, district=number[:6])
    assert number in fits
    assert len(fits) >= 50


async def test_an_error_answer_does_not_echo_a_number_from_the_path(env: Env) -> None:
    tokens = await env.login("13600000003")
    for path in ("/api/v1/housing-fund/withdrawals/13800000001", "/api/v1/x/321302198503120137"):
        resp = await env.client.get(path, headers=env.auth(tokens))
        assert resp.status_code in (403, 404), resp.text
        assert "13800000001" not in resp.text and "19850312" not in resp.text
        assert "****" in resp.json()["instance"]
