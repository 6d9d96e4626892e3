"""The 360° timeline reads as sentences for people: translated labels for every object, action and
coded value, and people's display names instead of login names (issue 9, rough edges)."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from kehu.customers import services
from kehu.customers.models import ChangeRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    return services.customer_create(actor=org.rep, data={"name": "浙江华星石化有限公司", "stage": "intent"})


def _detail(client, org, customer):
    assert client.login(username=org.rep.username, password=org.password)
    r = client.get(reverse("customers:detail", args=[customer.pk]))
    assert r.status_code == 200
    return r


def test_timeline_shows_review_item_resolution_in_human_words(client, org, customer):
    """A resolved review item reads 定期复核事项 … 状态：待处理 → 确认无误, not `reviewitem #2 review`."""
    ChangeRecord.objects.create(customer=customer, at=timezone.now(), actor=org.rep,
                                actor_name=org.rep.username, object_type="reviewitem", object_id=2,
                                action="review", changes={"state": ["open", "confirmed"]})
    body = _detail(client, org, customer).content.decode()
    # the page's body (the head carries a theme colour such as #206bc4)
    items = body[body.index('data-testid="timeline"') if 'data-testid="timeline"' in body else body.index("<body"):]
    assert "reviewitem" not in items and "#2" not in items
    assert "open" not in items.split("待处理")[0][-40:]
    assert "待处理" in items and "确认无误" in items
    assert "confirmed" not in items


def test_timeline_unknown_object_or_action_never_shows_the_code(client, org, customer):
    """An object or action the timeline does not know yet reads generically, not as its code."""
    ChangeRecord.objects.create(customer=customer, at=timezone.now(), actor=None, actor_name="system",
                                object_type="widgetthing", object_id=7, action="frobnicate", changes={})
    r = _detail(client, org, customer)
    body = r.content.decode()
    assert "widgetthing" not in body and "frobnicate" not in body
    row = r.context["timeline"][0]
    assert row["record"].object_type == "widgetthing"
    with translation.override("zh-hans"):
        assert row["actor_label"] == translation.gettext("System")  # 系统 once catalogued


def test_timeline_names_people_by_display_name_not_login(client, org, customer):
    """The author of an entry is shown by display name (王…), not the login name (rep)."""
    org.rep.display_name = "李晓明"
    org.rep.save(update_fields=["display_name"])
    r = _detail(client, org, customer)
    assert r.context["timeline"][0]["actor_label"] == "李晓明"
    assert "李晓明" in r.content.decode()
