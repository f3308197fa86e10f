"""The demo city's policy library: twenty policies as a city publishes them, in Chinese.

Titles, departments and document numbers follow real Jiangsu and Suqian documents of these
kinds (the numbers are made up); the search tests use the same list.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec

from integrations.provincial.population import PopulationProfile
from miniprograms.contract import DemoSeed
from miniprograms.policy_push import profiles
from miniprograms.policy_push.models import Policy, PolicyVersion
from miniprograms.policy_push.service import forget_newest, index

EDITOR = "demo-policy-editor"
PUBLISHER = "demo-policy-publisher"

# (audience, category, title, department, document number, summary, benefit, amounts)
POLICIES: tuple[tuple[str, str, str, str, str, str, str, list[dict[str, object]]], ...] = (
    ("resident", "elderly_care", "宿迁市高龄津贴发放实施办法", "宿迁市民政局", "宿政办发〔2023〕31号",
     "本市户籍80周岁及以上老年人按月领取高龄津贴。", "每月发放高龄津贴",
     [{"from": "2023-07-01", "amount_fen": 10000, "reference": "第五条"},
      {"from": "2027-01-01", "amount_fen": 12000, "reference": "第五条（2026年修订）"}]),
    ("enterprise", "enterprise_support", "关于做好2026年失业保险稳岗返还工作的通知", "江苏省人力资源和社会保障厅",
     "苏人社发〔2026〕12号", "上年度未裁员或裁员率不高于规定标准的参保企业，可申请稳岗返还。",
     "按上年度实际缴纳失业保险费的一定比例返还", []),
    ("resident", "elderly_care", "关于提高城乡居民基本养老保险基础养老金最低标准的通知", "宿迁市人力资源和社会保障局",
     "宿人社发〔2025〕45号", "城乡居民基本养老保险基础养老金最低标准每人每月提高。", "每月多领基础养老金",
     [{"from": "2025-07-01", "amount_fen": 26300, "reference": "第一条"}]),
    ("resident", "disability", "宿迁市困难残疾人生活补贴和重度残疾人护理补贴实施办法", "宿迁市残疾人联合会",
     "宿残联发〔2024〕8号", "低保家庭中的残疾人享受生活补贴，一级、二级重度残疾人享受护理补贴。", "按月发放两项补贴",
     [{"from": "2024-01-01", "amount_fen": 9000, "reference": "第六条"}]),
    ("resident", "employment", "宿迁市一次性创业补贴申领办法", "宿迁市人力资源和社会保障局", "宿人社规〔2024〕3号",
     "首次创办小微企业或从事个体经营并正常经营1年以上的，可申领一次性创业补贴。", "一次性发放创业补贴",
     [{"from": "2024-03-01", "amount_fen": 500000, "reference": "第四条"}]),
    ("resident", "employment", "关于进一步做好高校毕业生就业见习工作的通知", "宿迁市人力资源和社会保障局",
     "宿人社发〔2025〕19号", "离校2年内未就业高校毕业生参加就业见习，见习单位可获见习补贴。", "按月发放见习补贴", []),
    ("resident", "housing", "宿迁市住房公积金支持多子女家庭购房的通知", "宿迁市住房公积金管理中心",
     "宿公积金发〔2024〕6号", "多子女家庭首次使用住房公积金贷款购房，贷款额度可上浮。", "贷款额度上浮20%", []),
    ("resident", "employment", "灵活就业人员社会保险补贴实施细则", "宿迁市人力资源和社会保障局", "宿人社规〔2023〕7号",
     "就业困难人员灵活就业并缴纳社会保险费的，给予社会保险补贴。", "按实际缴费的三分之二补贴", []),
    ("enterprise", "enterprise_support", "宿迁市高新技术企业培育和认定奖励办法", "宿迁市科学技术局",
     "宿科发〔2024〕22号", "首次通过高新技术企业认定的企业给予一次性奖励。", "一次性奖励",
     [{"from": "2024-01-01", "amount_fen": 20000000, "reference": "第三条"}]),
    ("resident", "employment", "职业技能提升行动补贴申领通知", "宿迁市人力资源和社会保障局", "宿人社发〔2025〕33号",
     "参保职工取得职业资格证书或职业技能等级证书的，可申领技能提升补贴。", "按证书等级发放补贴", []),
    ("resident", "social_assistance", "宿迁市最低生活保障审核确认办法", "宿迁市民政局", "宿民规〔2023〕2号",
     "家庭人均收入低于当地低保标准且财产状况符合规定的，纳入最低生活保障。", "按月发放低保金",
     [{"from": "2025-01-01", "amount_fen": 84000, "reference": "第十二条"}]),
    ("resident", "social_assistance", "宿迁市临时救助实施办法", "宿迁市民政局", "宿民规〔2024〕5号",
     "因意外事件、突发重大疾病等导致基本生活暂时困难的家庭可申请临时救助。", "一次性救助", []),
    ("resident", "family", "关于提高孤儿和事实无人抚养儿童基本生活费标准的通知", "宿迁市民政局",
     "宿民发〔2025〕14号", "集中供养和社会散居孤儿、事实无人抚养儿童基本生活费标准提高。", "按月发放基本生活费", []),
    ("resident", "elderly_care", "宿迁市老年人优待办法", "宿迁市老龄工作委员会办公室", "宿老龄办〔2022〕4号",
     "65周岁以上老年人免费乘坐市区公交车，免费进入政府投资的公园和景区。", "免费乘车和游园", []),
    ("resident", "employment", "创业担保贷款及贴息政策实施细则", "宿迁市财政局", "宿财规〔2024〕9号",
     "符合条件的个人和小微企业可申请创业担保贷款，财政按规定贴息。", "贷款贴息", []),
    ("enterprise", "enterprise_support", "企业吸纳就业困难人员社会保险补贴办法", "宿迁市人力资源和社会保障局",
     "宿人社规〔2025〕1号", "企业招用就业困难人员并缴纳社会保险费的，给予社会保险补贴。", "按月补贴单位缴费部分", []),
    ("resident", "housing", "宿迁市新市民青年人租房补贴实施办法", "宿迁市住房和城乡建设局", "宿建规〔2025〕2号",
     "来宿就业的新市民、青年人在本市无自有住房的，可申请租房补贴。", "按月发放租房补贴",
     [{"from": "2025-05-01", "amount_fen": 50000, "reference": "第七条"}]),
    ("resident", "family", "宿迁市职工生育保险生育津贴支付办法", "宿迁市医疗保障局", "宿医保发〔2024〕10号",
     "参加职工生育保险的职工，按规定享受生育津贴。", "按用人单位月平均工资发放生育津贴", []),
    ("enterprise", "enterprise_support", "大学生创业园入驻企业房租补贴办法", "宿迁市人力资源和社会保障局",
     "宿人社发〔2024〕41号", "入驻大学生创业园的初创企业，给予最长三年的房租补贴。", "房租补贴", []),
    ("enterprise", "enterprise_support", "科技型中小企业研发费用奖补办法", "宿迁市科学技术局", "宿科规〔2025〕3号",
     "入库科技型中小企业研发费用达到规定比例的，给予奖补。", "按研发费用增量给予奖补", []),
)  # fmt: skip


LOCAL = ["local_urban", "local_rural"]
# Who qualifies, by title, with the article that says so. tests/situations/ holds the cases.
RULES: dict[str, tuple[dict[str, object], str]] = {
    "宿迁市高龄津贴发放实施办法": (
        {"all": [{"field": "age", "op": ">=", "value": 80},
                 {"field": "hukou_type", "op": "in", "value": LOCAL}]},
        "第三条",
    ),
    "关于提高城乡居民基本养老保险基础养老金最低标准的通知": (
        {"all": [{"field": "age", "op": ">=", "value": 60},
                 {"field": "hukou_type", "op": "in", "value": LOCAL}]},
        "第一条",
    ),
    "宿迁市困难残疾人生活补贴和重度残疾人护理补贴实施办法": (
        {"field": "disability_level", "op": "between", "value": [1, 2]},
        "第四条",
    ),
    "宿迁市一次性创业补贴申领办法": (
        {"field": "employment_status", "op": "=", "value": "self_employed"},
        "第二条",
    ),
    "灵活就业人员社会保险补贴实施细则": (
        {"all": [{"field": "employment_status", "op": "=", "value": "flexible"},
                 {"not": {"field": "age", "op": ">=", "value": 60}}]},
        "第三条",
    ),
    "宿迁市新市民青年人租房补贴实施办法": (
        {"all": [{"field": "age", "op": "between", "value": [18, 35]},
                 {"field": "hukou_type", "op": "=", "value": "non_local"},
                 {"field": "employment_status", "op": "in",
                  "value": ["employed", "self_employed", "flexible"]}]},
        "第二条",
    ),
    "关于做好2026年失业保险稳岗返还工作的通知": (
        {"all": [{"field": "unemployment_insurance_months", "op": ">=", "value": 12},
                 {"field": "employee_count", "op": ">=", "value": 1}]},
        "第二条",
    ),
    "宿迁市高新技术企业培育和认定奖励办法": (
        {"all": [{"field": "high_tech_certified", "op": "=", "value": True},
                 {"field": "district", "op": "in", "value": ["321302", "321311", "321322",
                                                             "321323", "321324"]}]},
        "第二条",
    ),
}  # fmt: skip


async def seed(demo: DemoSeed) -> dict[str, int]:
    """Publish the twenty policies (written by one demo operator, published by another)."""
    now = datetime.now(UTC)
    for audience, category, title, department, number, summary, benefit, dated in POLICIES:
        policy = await Policy.create(
            id=uuid.uuid4(),
            audience=audience,
            category=category,
            created_by=EDITOR,
            state="published",
            published_version=1,
            published_by=PUBLISHER,
            published_at=now,
            starts_on=date(2022, 1, 1),
        )
        version = await PolicyVersion.create(
            id=uuid.uuid4(),
            policy=policy,
            number=1,
            title=title,
            department=department,
            document_no=number,
            summary=summary,
            full_text=f"{title}\n{summary}",
            effective_from=date(2022, 1, 1),
            benefit=benefit,
            amounts=dated,
            how_to_apply="登录城市通，在“政策找人”中查看并按提示办理。",
            rule=RULES[title][0] if title in RULES else None,
            rule_reference=RULES[title][1] if title in RULES else "",
            edited_by=EDITOR,
        )
        await index(policy.id, version)
    forget_newest()
    return {"policies": len(POLICIES), "profiles": await _profiles(demo)}


async def _profiles(demo: DemoSeed) -> int:
    """Each demo resident's facts as the population registry would release them, as if the
    nightly refresh ran yesterday; the worker matches the policies when it starts."""
    # The sandbox plays the registry; imported here so that production never loads it.
    from integrations.sandbox.people import person
    from integrations.sandbox.population import population_profile

    made = 0
    yesterday = demo.today - timedelta(days=1)
    for resident in demo.residents:
        if not resident.id_number:
            continue
        answer = population_profile(person(resident.id_number, demo.today))
        profile = msgspec.convert(answer, PopulationProfile)
        await profiles.store(
            "resident", resident.id, profiles.population_columns(profile, yesterday)
        )
        made += 1
    return made
