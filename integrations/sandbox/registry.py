"""The population registry as the sandbox plays it: who an ID number belongs to, and which
ID number each mobile number is registered to (China's mobile lines are real-name lines).

Real-name apps verify a binding with a three-element check (phone, name, ID number) against
the carriers and the registry; the registry answers only "consistent" or not, never what the
right name is, so the check cannot be used to look people up.

Every valid ID number has exactly one registered name: the named demo residents keep theirs,
everyone else gets one derived from the number. Phones are known for the demo residents and
for a few test persons who have not signed up yet; development and tests can register more
through the sandbox's admin surface (``PUT /admin/registry/phones/{phone}``).
"""

from __future__ import annotations

from aiohttp import web

from integrations.sandbox.people import rng_for

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强文亮春梅海燕晓东小红丹宁鑫浩宇欣怡子轩梓涵"

# The demo city's named residents (app_api/demo.py) and two test persons who have not signed
# up yet, so a newcomer can try real-name binding (README).
NAMED: dict[str, tuple[str, str]] = {
    # id_number: (registered name, registered phone)
    "321302198503120137": ("王建国", "13800000001"),
    "321311195208210247": ("李秀英", "13800000002"),
    "32132219901102013X": ("张伟", "13800000003"),
    "321323199606300137": ("刘洋", "13800000004"),
    "321302198201150138": ("王小明", "13800000005"),
    "321324197909090242": ("陈静", "13800000006"),
    "321322194604040248": ("赵桂兰", "13800000007"),
    "321302199205200029": ("周敏", "13800000008"),
    "321311195801010019": ("吴德福", "13800000009"),
}


def registered_name(id_number: str) -> str:
    """The one name the registry holds for this ID number."""
    if id_number in NAMED:
        return NAMED[id_number][0]
    rng = rng_for(id_number, "name")
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return rng.choice(SURNAMES) + given


class PopulationRegistry:
    """Phone registrations (phone -> ID number) and the three-element check."""

    def __init__(self) -> None:
        self.phones: dict[str, str] = {phone: number for number, (_, phone) in NAMED.items()}

    def register_phone(self, phone: str, id_number: str) -> None:
        """A carrier's real-name record: this line is registered to this ID number."""
        self.phones[phone] = id_number

    def check(self, name: str, id_number: str, phone: str | None) -> str:
        """``consistent`` when the name is the number's and the phone (if given) is registered
        to that number; ``inconsistent`` otherwise. Which element failed is not said."""
        if registered_name(id_number) != name:
            return "inconsistent"
        if phone is not None and self.phones.get(phone) != id_number:
            return "inconsistent"
        return "consistent"

    async def admin_register(self, request: web.Request) -> web.Response:
        """Development only: ``PUT /admin/registry/phones/{phone}`` ``{"id_number": ...}``."""
        phone = request.match_info["phone"]
        try:
            body = await request.json()
            id_number = str(body["id_number"])
        except (ValueError, KeyError, TypeError):
            return web.json_response(
                {"code": "INVALID_PARAMETER", "message": 'body is {"id_number": ...}'},
                status=400,
            )
        self.register_phone(phone, id_number)
        return web.json_response({"phone": phone, "name": registered_name(id_number)})
