"""Demo data of duplicates and merge: companies registered twice the way old systems and Excel
imports do it (有限公司 vs 股份有限公司, a bracketed region, a contact's mobile shared with a person
record), one pair already merged (undoable), then a scan that fills the review queue."""

from __future__ import annotations

import random

from kehu.customers import merge, services
from kehu.customers.models import Customer, DuplicateCandidate
from kehu.demo import generators as g

# (first registration, second registration written differently)
# The demo's people are contacts of customers under contract (PIPL 13 (2)).
BASIS = {"basis": "contract", "purpose": "客户关系管理与合同履行", "channel": "demo"}

PAIRS = [
    ("北京华星石化有限公司", "华星石化(北京)股份有限公司"),
    ("浙江恒瑞新材料科技有限公司", "恒瑞新材料(浙江)有限责任公司"),
    ("上海金鼎化工贸易有限公司", "金鼎化工（上海）有限公司"),
    ("江苏永盛塑业集团有限公司", "永盛塑业集团股份有限公司"),
    ("宁波鑫源包装材料有限公司", "宁波市鑫源包装材料有限公司"),
    ("广州博远物流有限公司", "博远物流(广州)有限公司"),
]


def demo_load(*, users: dict, rng: random.Random) -> str:
    admin = users["admin"]
    owners = [users[u] for u in ("rep", "rep2") if u in users] or [admin]
    made = []
    for i, (first, second) in enumerate(PAIRS):
        if Customer.objects.filter(name=first, deleted_at__isnull=True).exists():
            continue
        province, city, _districts, _division = g.place_of(first) or rng.choice(g.PLACES)
        a = services.customer_create(actor=owners[i % len(owners)], data={
            "name": first, "kind": "organization", "industry": "化工", "province": province, "city": city,
            "source": "老系统导入", "confirm_duplicate": True})
        b = services.customer_create(actor=owners[(i + 1) % len(owners)], data={
            "name": second, "kind": "organization", "industry": "化工", "province": province, "city": city,
            "address": f"{city}经济技术开发区{rng.randint(1, 99)}号", "source": "Excel导入",
            "confirm_duplicate": True})  # the twin registrations of old systems that the scan then finds
        services.contact_create(actor=a.owner, customer_id=a.pk,
                                data={"name": g.person_name(rng), "title": "采购经理", "mobile": g.mobile(rng),
                                      "basis": BASIS})
        made.append((a, b))
    # A person registered twice, once with the mobile as a contact of a company.
    if made:
        shared = g.mobile(rng)
        services.contact_create(actor=made[0][1].owner, customer_id=made[0][1].pk,
                                data={"name": "王建国", "title": "总经理", "mobile": shared, "basis": BASIS})
        services.customer_create(actor=owners[0], data={"name": "王建国", "kind": "person", "mobile": shared,
                                                        "province": "北京市", "city": "北京市", "basis": BASIS})
    counts = merge.duplicate_scan(actor=admin)
    merged = ""
    if len(made) >= 2:
        a, b = made[-1]
        merge.customer_merge(actor=admin, survivor_id=a.pk, loser_id=b.pk, choices={"address": "loser"})
        merged = f", merged {b.name} into {a.name}"
    open_pairs = DuplicateCandidate.objects.filter(state="open").count()
    return f"duplicates: {len(made)} twin registrations, scan {counts}, {open_pairs} open pairs{merged}"
