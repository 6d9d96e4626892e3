"""The pipeline's fixtures: the test organisation (build_org), customers of 张伟 (rep, 华东区: a prospect from a walk-in
and two active companies), one of 刘洋 (rep2, same department) and one of 陈静 (north_rep, 华北区), three units of
the inventory — built once per module (module_data)."""

from __future__ import annotations

from types import SimpleNamespace

from kehu.customers.tests.factories import build_org, module_data, org_customer


def build_world():
    from kehu.sales import services

    org = build_org()
    c = {"prospect": org_customer(org.rep, "杭州远景新材料有限公司", serial=11, source="walk_in", stage="prospect"),
         "huaxing": org_customer(org.rep, "浙江华星石化有限公司", serial=12, source="referral", stage="intent"),
         "dongfang": org_customer(org.rep, "上海东方贸易有限公司", serial=13, source="call", stage="intent"),
         "liu": org_customer(org.rep2, "宁波甬兴塑料有限公司", serial=14, source="walk_in", stage="prospect"),
         "north": org_customer(org.north_rep, "北京燕山机械有限公司", serial=15, source="exhibition", stage="prospect")}
    units = {code: services.object_create(actor=org.manager, data={"code": code, "name": name, "kind": "unit",
                                                                   "list_price": price})
             for code, name, price in (("A-1801", "滨江府 1 幢 1801 室", "2860000"),
                                       ("A-1802", "滨江府 1 幢 1802 室", "2790000"),
                                       ("P-B012", "地下车位 B012", "180000"))}
    return SimpleNamespace(org=org, c=c, units=units)


world = module_data("world", build_world)
