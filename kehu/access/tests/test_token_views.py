"""The personal API token page: list, create (the clear token shown once), revoke — and a revoked
token no longer opens the API."""

import pytest
from django.urls import reverse

from kehu.access import services
from kehu.access.models import ApiToken
from kehu.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def login(client, org, user):
    assert client.login(username=user.username, password=org.password)
    return client


def api_status(client, key):
    return client.get("/api/v1/customers", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


def test_token_page_needs_login(client):
    r = client.get(reverse("access:tokens"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")


def test_user_menu_links_to_the_token_page(client, org):
    login(client, org, org.rep)
    assert reverse("access:tokens") in client.get(reverse("customers:list")).content.decode()


def test_token_page_lists_only_my_tokens(client, org):
    services.token_create(actor=org.rep, name="ERP 同步")
    services.token_create(actor=org.rep2, name="别人的令牌")
    login(client, org, org.rep)
    r = client.get(reverse("access:tokens"))
    assert r.status_code == 200
    body = r.content.decode()
    assert "ERP 同步" in body and "别人的令牌" not in body
    assert "从未使用" in body and "有效" in body
    assert 'data-testid="new-token"' not in body


@pytest.mark.parametrize("role", ["rep", "agent", "auditor", "admin"])
def test_create_shows_the_clear_token_once_and_it_works(client, org, role):
    user = getattr(org, role)
    login(client, org, user)
    r = client.post(reverse("access:tokens"), {"name": "报表脚本"})
    assert r.status_code == 200
    key = r.context["key"]
    assert key.startswith("kehu_")
    body = r.content.decode()
    assert key in body and "仅显示这一次" in body and "复制" in body
    assert "no-store" in r["Cache-Control"]
    token = ApiToken.objects.get(user=user, name="报表脚本")
    assert token.prefix == key[:12] and key not in token.key_hash
    assert AuditEntry.objects.filter(action="token.create", object_id=str(token.pk)).exists()
    # Never again: the list shows the prefix only.
    again = client.get(reverse("access:tokens")).content.decode()
    assert key not in again and token.prefix in again
    client.logout()
    assert api_status(client, key) == 200


def test_create_without_a_name_shows_the_inline_error(client, org):
    login(client, org, org.rep)
    r = client.post(reverse("access:tokens"), {"name": ""})
    assert r.status_code == 400
    assert r.context["form"].errors["name"] == ["这个字段是必填项。"]
    assert r.context["key"] is None
    assert not ApiToken.objects.exists()


def test_revoke_then_the_token_no_longer_authenticates(client, org):
    token, key = services.token_create(actor=org.rep, name="ERP 同步")
    assert api_status(client, key) == 200
    login(client, org, org.rep)
    r = client.post(reverse("access:token_revoke", args=[token.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("access:tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoke", object_id=str(token.pk)).exists()
    body = client.get(r["Location"]).content.decode()
    assert "令牌“ERP 同步”已吊销。" in body and "已吊销" in body
    assert reverse("access:token_revoke", args=[token.pk]) not in body  # nothing left to revoke
    client.logout()
    assert api_status(client, key) == 401


def test_revoke_needs_post(client, org):
    token, _key = services.token_create(actor=org.rep, name="ERP 同步")
    login(client, org, org.rep)
    assert client.get(reverse("access:token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_cannot_revoke_another_users_token(client, org):
    """Someone else's token does not exist for a non-administrator: 404, and it keeps working."""
    token, key = services.token_create(actor=org.rep2, name="别人的令牌")
    login(client, org, org.rep)
    assert client.post(reverse("access:token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    client.logout()
    assert api_status(client, key) == 200
