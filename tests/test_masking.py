"""Personal numbers are masked in responses and never appear unmasked in a log line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app_api import logs
from app_api.identity.models import Resident
from app_api.identity.numbers import mask_name
from integrations.sandbox import PROVINCE
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
    assert first["note"] == "id 110***********002X phone 138****0001"
    assert first["nested"]["id"] == "110***********002X"
    assert "110***********002X" in err.splitlines()[1]


async def test_identity_binding_masks_and_encrypts(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.sandbox.app[PROVINCE].registry.register_phone("13600000001", ID_NUMBER)
    name = registered_name(ID_NUMBER)
    tokens = await env.login("13600000001")
    resp = await env.client.put(
        "/api/v1/profile/identity",
        json={"name": name, "id_number": ID_NUMBER.lower()},
        headers=env.auth(tokens),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id_number"] == "110***********002X"
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
