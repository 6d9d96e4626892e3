"""Lost updates in the HTML edit forms (issue 16): the form carries the version it was loaded at and
writes only the fields the user changed. Two users editing different fields both keep their change; the
same field changed by both → the second sees both values side by side and nothing is saved."""

import pytest
from django.test import Client
from django.urls import reverse

from kehu.customers import services
from kehu.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db


def _browser(org, user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=org.password)
    return client


def _loaded(client, url) -> dict:
    """What the browser posts back when the user changes nothing: the form as rendered."""
    form = client.get(url).context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        elif value is None or value is False:
            continue
        else:
            data[name] = str(value)
    return data


@pytest.fixture
def customer(org):
    return services.customer_create(actor=org.rep, data={
        "name": "浙江华星石化有限公司", "industry": "石化", "province": "浙江省", "city": "杭州市", "stage": "intent",
        "needs": "稳定的原料供应"})


def test_two_users_editing_different_fields_both_keep_their_change(org, customer):
    """Rep changes the industry, manager (who loaded the page before) changes the needs: both stay."""
    url = reverse("customers:edit", args=[customer.pk])
    rep, manager = _browser(org, org.rep), _browser(org, org.manager)
    rep_form, manager_form = _loaded(rep, url), _loaded(manager, url)
    assert rep_form["version"] == "1"
    assert rep.post(url, rep_form | {"industry": "化工"}).status_code == 302
    assert manager.post(url, manager_form | {"needs": "希望缩短账期"}).status_code == 302
    customer.refresh_from_db()
    assert (customer.industry, customer.needs, customer.version) == ("化工", "希望缩短账期", 3)


def test_same_field_changed_by_both_shows_both_values_and_saves_nothing(org, customer):
    """Both change the industry: the second gets 409, a table with the stored and their own value, and the
    record keeps the first change; saving the re-shown form then applies theirs knowingly."""
    url = reverse("customers:edit", args=[customer.pk])
    rep, manager = _browser(org, org.rep), _browser(org, org.manager)
    rep_form, manager_form = _loaded(rep, url), _loaded(manager, url)
    assert rep.post(url, rep_form | {"industry": "化工", "needs": "扩产"}).status_code == 302
    r = manager.post(url, manager_form | {"industry": "纺织"})
    assert r.status_code == 409
    assert [(row["name"], row["theirs"], row["yours"]) for row in r.context["conflict"]] == [("industry", "化工", "纺织")]
    assert 'data-testid="version-conflict"' in r.content.decode()
    customer.refresh_from_db()
    assert (customer.industry, customer.needs, customer.version) == ("化工", "扩产", 2)
    # the re-shown form: their value kept, the rest now the stored values, version 2
    reshown = r.context["form"]
    assert (reshown["industry"].value(), reshown["needs"].value(), reshown["version"].value()) == ("纺织", "扩产", "2")
    resubmit = {n: reshown[n].value() for n in reshown.fields if reshown[n].value() not in (None, False)}
    assert manager.post(url, resubmit).status_code == 302
    customer.refresh_from_db()
    assert (customer.industry, customer.needs, customer.version) == ("纺织", "扩产", 3)


def test_tags_and_owner_are_merged_field_by_field(org, customer):
    """One user tags the customer while another changes its stage: neither reverts the other."""
    tag = services.tag_create(actor=org.admin, category="价值", name="重点客户")
    url = reverse("customers:edit", args=[customer.pk])
    rep, manager = _browser(org, org.rep), _browser(org, org.manager)
    rep_form, manager_form = _loaded(rep, url), _loaded(manager, url)
    assert rep.post(url, rep_form | {"tags": [str(tag.pk)]}).status_code == 302
    assert manager.post(url, manager_form | {"stage": "customer"}).status_code == 302
    customer.refresh_from_db()
    assert (list(customer.tags.all()), customer.stage) == ([tag], "customer")


def test_contact_form_conflict_on_the_same_field(org, customer):
    contact = services.contact_create(actor=org.rep, customer_id=customer.pk, data={"name": "陈晓", "title": "采购经理"})
    url = reverse("customers:contact_edit", args=[contact.pk])
    rep, manager = _browser(org, org.rep), _browser(org, org.manager)
    rep_form, manager_form = _loaded(rep, url), _loaded(manager, url)
    assert rep.post(url, rep_form | {"title": "采购总监"}).status_code == 302
    assert manager.post(url, manager_form | {"email": "chenxiao@huaxing.cn"}).status_code == 302  # other field: fine
    r = manager.post(url, manager_form | {"title": "副总经理"})  # still the old page: same field
    assert r.status_code == 409
    assert [row["name"] for row in r.context["conflict"]] == ["title"]
    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.title, contact.email, contact.version) == ("采购总监", "chenxiao@huaxing.cn", 3)


def test_post_without_version_still_writes_as_before(org, customer):
    """A form post without the hidden fields (an old page) writes the whole form as before."""
    url = reverse("customers:edit", args=[customer.pk])
    rep = _browser(org, org.rep)
    data = {k: v for k, v in _loaded(rep, url).items() if k not in ("version", "original")}
    assert rep.post(url, data | {"industry": "化工"}).status_code == 302
    assert Customer.objects.get(pk=customer.pk).industry == "化工"
