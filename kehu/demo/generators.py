"""Believable Chinese company data: names, valid USCCs, real provinces/cities/districts, mobiles,
contacts with decision chains. Deterministic for a given seed. Used by `kehu demo` and the benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator

from stdnum.cn import uscc as uscc_mod

# (province, city, district list, administrative division code of the city)
PLACES = [
    ("浙江省", "杭州市", ["西湖区", "滨江区", "余杭区", "萧山区", "拱墅区"], "330100"),
    ("浙江省", "宁波市", ["鄞州区", "北仑区", "镇海区", "海曙区"], "330200"),
    ("江苏省", "南京市", ["鼓楼区", "江宁区", "建邺区", "栖霞区"], "320100"),
    ("江苏省", "苏州市", ["虎丘区", "吴中区", "相城区", "姑苏区"], "320500"),
    ("上海市", "上海市", ["浦东新区", "徐汇区", "闵行区", "嘉定区", "静安区"], "310100"),
    ("北京市", "北京市", ["朝阳区", "海淀区", "丰台区", "大兴区", "顺义区"], "110100"),
    ("天津市", "天津市", ["滨海新区", "南开区", "河西区"], "120100"),
    ("河北省", "石家庄市", ["长安区", "桥西区", "裕华区"], "130100"),
    ("山东省", "济南市", ["历下区", "槐荫区", "章丘区"], "370100"),
    ("山东省", "青岛市", ["黄岛区", "市南区", "城阳区"], "370200"),
    ("广东省", "广州市", ["天河区", "黄埔区", "番禺区", "白云区"], "440100"),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"], "440300"),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区"], "350200"),
    ("四川省", "成都市", ["武侯区", "青羊区", "双流区", "锦江区"], "510100"),
    ("湖北省", "武汉市", ["江汉区", "洪山区", "东西湖区"], "420100"),
    ("河南省", "郑州市", ["金水区", "中原区", "管城回族区"], "410100"),
    ("陕西省", "西安市", ["雁塔区", "未央区", "长安区"], "610100"),
    ("辽宁省", "大连市", ["甘井子区", "沙河口区", "金州区"], "210200"),
    ("湖南省", "长沙市", ["岳麓区", "雨花区", "开福区"], "430100"),
    ("安徽省", "合肥市", ["蜀山区", "包河区", "庐阳区"], "340100"),
]
PROVINCE_SHORT = {"浙江省": "浙江", "江苏省": "江苏", "上海市": "上海", "北京市": "北京", "天津市": "天津",
                  "河北省": "河北", "山东省": "山东", "广东省": "广东", "福建省": "福建", "四川省": "四川",
                  "湖北省": "湖北", "河南省": "河南", "陕西省": "陕西", "辽宁省": "辽宁", "湖南省": "湖南",
                  "安徽省": "安徽"}

INDUSTRIES = {
    "石化": ["石化", "化工", "塑化", "新材料", "能源", "油品"],
    "物流": ["物流", "供应链", "运输", "仓储", "快运", "国际货运"],
    "房地产": ["置业", "地产", "房地产开发", "物业", "建设"],
    "制造": ["机械", "精密制造", "电气", "汽车零部件", "智能装备", "模具"],
    "零售": ["商贸", "超市", "百货", "连锁", "电子商务"],
    "医药": ["医药", "生物科技", "医疗器械", "药业"],
    "电子": ["电子", "半导体", "光电", "通信设备"],
    "食品": ["食品", "乳业", "饮料", "粮油"],
    "纺织": ["纺织", "服饰", "印染"],
    "建材": ["建材", "水泥", "玻璃", "钢结构"],
}
CORE_WORDS = ("华星 恒瑞 天诚 金鼎 新元 东方 宏达 永盛 鑫源 博远 中联 瑞丰 海瑞 联创 华泰 鼎盛 嘉禾 远航 "
              "正泰 凯达 龙腾 盛世 汇通 明珠 安泰 万象 荣昌 科瑞 国信 德润 泰和 福田 长江 长城 银河 "
              "启明 晨光 春晖 弘毅 天元 融信 卓越 创新 同创 立信 信达 通达 华润 和信 利华 宝丰 "
              "振华 浩宇 星辰 云海 青峰 顺丰 百川 智达 巨力 精工 兴业 富源 金桥 中宏 海纳 蓝天 绿源").split()
LEGAL_FORMS = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]
SCALES = ["微型", "小型", "中型", "大型", "特大型"]
SOURCES = ["老客户介绍", "展会", "官网咨询", "电话营销", "招投标", "行业协会", "合作伙伴推荐", "上门拜访"]
STAGES = ["prospect", "intent", "customer", "customer", "customer", "lost"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕红梅玉兰子涵浩然欣怡宇轩梓萱俊杰晓东春华"
MOBILE_PREFIXES = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182",
                   "183", "187", "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180",
                   "181", "189", "177", "199"]
TITLES = {
    "decision_maker": ["总经理", "董事长", "副总经理", "总裁"],
    "influencer": ["技术总监", "生产总监", "总工程师", "运营总监"],
    "purchaser": ["采购经理", "采购主管", "供应链经理"],
    "user": ["生产主管", "车间主任", "设备工程师", "仓储主管"],
    "finance": ["财务总监", "财务经理", "会计主管"],
    "other": ["行政主管", "办公室主任", "销售助理"],
}
TRAITS = ["喜欢喝茶，重视细节", "做事稳重，偏好面谈", "关注交付周期", "对价格敏感", "爱好高尔夫", "注重售后服务响应速度",
          "习惯微信沟通", "重视长期合作关系"]
NEEDS = ["希望缩短交货周期", "需要定制化包装方案", "关注产品质量稳定性", "年度采购量预计增长两成", "需要账期支持",
         "希望提供技术培训", "计划扩建新产线"]
PAINS = ["原供应商交付不稳定", "物流成本高", "质检标准不统一", "付款审批流程长", "缺少驻厂技术支持"]
# USCC: registration authority 9 (工商) + type 1 (企业); then 6-digit division code, 9-char org code, check.
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def mobile(rng: random.Random, unique: int | None = None) -> str:
    """A valid mainland mobile. With ``unique`` the last 8 digits encode it, so numbers never repeat."""
    tail = f"{unique % 10**8:08d}" if unique is not None else f"{rng.randrange(10**8):08d}"
    return rng.choice(MOBILE_PREFIXES) + tail


def uscc(rng: random.Random, division: str, serial: int) -> str:
    """A checksum-valid unified social credit code, unique per serial."""
    org = []
    n = serial
    for _ in range(8):
        org.append(_ORG_ALPHABET[n % 31])
        n //= 31
    body = "91" + division + "".join(reversed(org)) + rng.choice("0123456789")
    # The 9th char of the organisation code is its own check digit in GB 11714; stdnum checks only the
    # USCC check digit, which is what registration systems verify.
    return body + uscc_mod.calc_check_digit(body)


def company_name(rng: random.Random, province: str, industry: str, serial: int) -> str:
    core = rng.choice(CORE_WORDS)
    if serial >= len(CORE_WORDS):  # keep names distinct at scale: add a second core word
        core += rng.choice(CORE_WORDS)
    prefix = PROVINCE_SHORT.get(province, province.rstrip("省市"))
    return f"{prefix}{core}{rng.choice(INDUSTRIES[industry])}{rng.choice(LEGAL_FORMS)}"


def customer_rows(count: int, *, seed: int = 2026, start: int = 0, contacts_per_customer: int = 3,
                  people_share: float = 0.08) -> Iterator[dict]:
    """Yield ``count`` customer dicts (fields of services.CUSTOMER_FIELDS plus "contacts")."""
    rng = random.Random(seed + start)
    industries = list(INDUSTRIES)
    for i in range(start, start + count):
        province, city, districts, division = rng.choice(PLACES)
        industry = rng.choice(industries)
        person = rng.random() < people_share
        row = {
            "kind": "person" if person else "organization",
            "industry": industry if not person else "",
            "scale": rng.choice(SCALES) if not person else "",
            "province": province, "city": city, "district": rng.choice(districts),
            "address": f"{rng.choice(districts)}{rng.choice(CORE_WORDS)}路{rng.randint(1, 999)}号",
            "source": rng.choice(SOURCES),
            "stage": rng.choice(STAGES),
            "status": "active" if rng.random() > 0.04 else "suspended",
            "needs": rng.choice(NEEDS), "pain_points": rng.choice(PAINS), "preferences": "",
        }
        if person:
            row["name"] = person_name(rng)
            row["uscc"] = ""
            row["mobile"] = mobile(rng, unique=i * 7 + 3)
        else:
            row["name"] = company_name(rng, province, industry, i)
            row["uscc"] = uscc(rng, division, i)
        contacts = []
        roles = ["decision_maker", "purchaser", "influencer", "finance", "user", "other"]
        for k in range(contacts_per_customer if not person else 0):
            role = roles[k % len(roles)]
            contacts.append({
                "name": person_name(rng), "title": rng.choice(TITLES[role]), "role": role,
                "mobile": mobile(rng, unique=i * 7 + 4 + k),
                "email": f"contact{i}_{k}@example.cn", "wechat": f"wx_{i}_{k}",
                "birthday": f"{rng.randint(1962, 1996)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "traits": rng.choice(TRAITS), "preferences": "",
                # the decision maker heads the chain; everyone else reports to them
                "reports_to_index": None if k == 0 else 0,
            })
        row["contacts"] = contacts
        yield row


def place_of(name: str) -> tuple[str, str, list[str], str] | None:
    """The place (as in PLACES) a company name says it is in: its city (宁波鑫源… → 宁波市), else the first
    city of its province (北京华星… → 北京市, 江苏永盛… → 南京市); None when the name names no place."""
    for place in PLACES:
        if place[1].removesuffix("市") in name:
            return place
    for place in PLACES:
        if PROVINCE_SHORT.get(place[0], place[0]) in name:
            return place
    return None


def name_matches_place(name: str, province: str, city: str) -> bool:
    """A company named after a city or province is in it (苏州…化工有限公司 in 苏州市, 江苏省)."""
    for _province, place_city, _districts, _division in PLACES:
        if place_city.removesuffix("市") in name:
            return city == place_city
    for short_province, short in PROVINCE_SHORT.items():
        if short in name:
            return province == short_province
    return True
