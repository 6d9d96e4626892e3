"""省/市/区 as GB/T 2260 codes (issue 9): cascading choices, codes checked against each other in the
service and the API, names derived from codes, free text matched to codes where it can be."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from kehu.customers import regions, services
from kehu.customers.models import Customer
from kehu.demo import generators

MIGRATION = importlib.import_module("kehu.customers.migrations.0008_region_codes")


# ---------------------------------------------------------------- the table (no database)

def test_table_has_every_province_and_known_cities_and_districts():
    assert len(regions.provinces()) == 34  # 23 provinces (台湾 incl.), 5 autonomous regions, 4 municipalities, 2 SARs
    assert ("330100", "杭州市") in regions.cities("330000")
    assert ("330106", "西湖区") in regions.districts("330100")
    assert regions.name("440300") == "深圳市"


def test_a_municipalitys_city_is_itself_and_holds_its_districts():
    """北京市 has no city level in GB/T 2260: its one city is 北京市 (110000), with 朝阳区 under it."""
    assert regions.cities("110000") == (("110000", "北京市"),)
    assert ("110105", "朝阳区") in regions.districts("110000")
    assert regions.validate("110000", "110000", "110105")["district"] == "朝阳区"


def test_validate_refuses_a_district_outside_its_city():
    with pytest.raises(regions.RegionError) as err:
        regions.validate("330000", "330100", "110105")
    assert err.value.field == "district_code"
    with pytest.raises(regions.RegionError) as err:
        regions.validate("330000", "440300")
    assert err.value.field == "city_code"
    with pytest.raises(regions.RegionError) as err:
        regions.validate("999999")
    assert err.value.field == "province_code"
    with pytest.raises(regions.RegionError):
        regions.validate("", "", "330106")  # a district needs its city


@pytest.mark.parametrize(("text", "codes"), [
    (("浙江省", "杭州市", "西湖区"), ("330000", "330100", "330106")),
    (("浙江", "杭州", "西湖"), ("330000", "330100", "330106")),  # suffixes left out
    (("", "上海市", "浦东新区"), ("310000", "310000", "310115")),  # a municipality written as a city
    (("江苏省", "苏州市", "工业园区"), ("320000", "320500", "")),  # not a division: text kept, no code
    (("火星", "", ""), ("", "", "")),
])
def test_free_text_is_matched_to_codes_where_it_matches(text, codes):
    found = regions.match(*text)
    assert (found["province_code"], found["city_code"], found["district_code"]) == codes
    if not codes[2] and text[2]:
        assert found["district"] == text[2]


def test_demo_places_all_have_codes():
    """Every place the demo generator uses is a real division, so demo customers get valid codes."""
    for province, city, districts, _division in generators.PLACES:
        for district in districts:
            found = regions.match(province, city, district)
            assert found["district_code"], (province, city, district)


# ---------------------------------------------------------------- the service and the API

pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_codes_name_the_place(org):
    c = services.customer_create(actor=org.rep, data={"name": "华星石化", "province_code": "330000",
                                                      "city_code": "330100", "district_code": "330106",
                                                      "province": "随便写"})
    assert (c.province, c.city, c.district) == ("浙江省", "杭州市", "西湖区")


@pytestmark_db
def test_names_alone_get_codes_on_create_update_and_bulk(org):
    c = services.customer_create(actor=org.rep, data={"name": "华星石化", "province": "浙江", "city": "宁波"})
    assert (c.province_code, c.city_code, c.province, c.city) == ("330000", "330200", "浙江省", "宁波市")
    c = services.customer_update(actor=org.rep, customer_id=c.pk, data={"city": "杭州市", "district": "西湖区"})
    assert (c.city_code, c.district_code) == ("330100", "330106")
    services.customer_bulk_create(actor=org.rep, rows=[{"name": "东方贸易", "province": "广东省", "city": "深圳市",
                                                        "district": "南山区"}])
    assert Customer.objects.get(name="东方贸易").district_code == "440305"


@pytestmark_db
def test_api_refuses_a_district_outside_the_city(org, api_client):
    api = api_client.as_user(org.rep)
    r = api.post("/customers", {"name": "华星石化", "province_code": "330000", "city_code": "330100",
                                "district_code": "110105"})
    assert r.status_code == 422
    assert "district_code" in r.json()["error"]["fields"]
    r = api.post("/customers", {"name": "华星石化", "province_code": "330000", "city_code": "330100"})
    assert r.status_code == 201
    body = r.json()
    assert (body["province"], body["city"], body["city_code"]) == ("浙江省", "杭州市", "330100")
    r = api.patch_current(f"/customers/{body['id']}", {"province_code": "440000", "city_code": "440300"})
    assert r.status_code == 200 and r.json()["city"] == "深圳市"


@pytestmark_db
def test_database_refuses_a_city_without_its_province(org):
    from django.db import IntegrityError, transaction

    c = services.customer_create(actor=org.rep, data={"name": "华星石化"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=c.pk).update(city_code="330100")


# ---------------------------------------------------------------- the form

def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


@pytestmark_db
def test_form_offers_cascading_selects_and_saves_codes(client, org):
    login(client, org, org.rep)
    r = client.get(reverse("customers:create"))
    body = r.content.decode()
    assert 'data-testid="region-province"' in body and "浙江省" in body
    assert reverse("customers:region_options") in body
    r = client.post(reverse("customers:create"), {"name": "宁波港联物流有限公司", "kind": "organization",
                                                  "province": "330000", "city": "330200", "district": "330212",
                                                  "stage": "prospect", "status": "active"})
    assert r.status_code == 302
    c = Customer.objects.get()
    assert (c.province, c.city, c.district, c.district_code) == ("浙江省", "宁波市", "鄞州区", "330212")
    r = client.get(reverse("customers:edit", args=[c.pk]))
    form = r.context["form"]
    assert (form.initial["province"], form.initial["city"], form.initial["district"]) == ("330000", "330200", "330212")
    assert ("330212", "鄞州区") in form.fields["district"].choices


@pytestmark_db
def test_form_refuses_a_city_of_another_province(client, org):
    login(client, org, org.rep)
    r = client.post(reverse("customers:create"), {"name": "宁波港联物流有限公司", "kind": "organization",
                                                  "province": "330000", "city": "440300",
                                                  "stage": "prospect", "status": "active"})
    assert r.status_code == 400 and "city" in r.context["form"].errors
    assert not Customer.objects.exists()


@pytestmark_db
def test_editing_keeps_unmatched_free_text(client, org):
    """A place typed before the codes that matches no division survives an edit that does not touch it."""
    c = services.customer_create(actor=org.rep, data={"name": "华星石化", "province": "火星", "city": "一号基地"})
    login(client, org, org.rep)
    r = client.get(reverse("customers:edit", args=[c.pk]))
    assert "火星" in r.content.decode()  # shown as what is stored
    r = client.post(reverse("customers:edit", args=[c.pk]), {"name": "华星石化", "kind": "organization",
                                                             "stage": "intent", "status": "active"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert (c.province, c.city, c.stage) == ("火星", "一号基地", "intent")


@pytestmark_db
def test_region_options_cascade(client, org):
    login(client, org, org.rep)
    r = client.get(reverse("customers:region_options"), {"province": "330000"})
    body = r.content.decode()
    assert r.status_code == 200 and '<option value="330100">杭州市</option>' in body
    assert 'id="id_district" hx-swap-oob' in body  # the districts empty when the province changes
    r = client.get(reverse("customers:region_options"), {"city": "330100"})
    assert '<option value="330106">西湖区</option>' in r.content.decode()
    assert client.get(reverse("customers:region_options")).status_code == 400


@pytestmark_db
def test_region_options_need_a_login(client):
    r = client.get(reverse("customers:region_options"), {"province": "330000"})
    assert r.status_code == 302 and "login" in r["Location"]


# ---------------------------------------------------------------- the data migration

@pytestmark_db
def test_data_migration_gives_existing_free_text_its_codes(org):
    a = services.customer_create(actor=org.rep, data={"name": "华星石化"})
    b = services.customer_create(actor=org.rep, data={"name": "东方贸易"})
    Customer.objects.filter(pk=a.pk).update(province="浙江", city="杭州", district="西湖区")
    Customer.objects.filter(pk=b.pk).update(province="火星", city="一号基地")
    MIGRATION.codes_from_text(apps, None)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.province, a.city, a.district_code) == ("浙江省", "杭州市", "330106")
    assert (b.province, b.province_code) == ("火星", "")
