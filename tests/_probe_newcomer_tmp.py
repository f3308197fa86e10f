import pytest
from tests.test_newcomer_parking import *  # noqa
from tests.test_newcomer_parking import variant, WANG

@pytest.mark.parametrize("entries", [variant("NONE_CARD")])
async def test_show(env):
    tokens = await env.verified("13800000005", WANG)
    resp = await env.client.get("/api/v1/home", headers=env.auth(tokens))
    print("STATUS", resp.status_code, resp.text[:400])
