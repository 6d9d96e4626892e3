import pytest

pytestmark = pytest.mark.django_db


def test_pages_are_chinese_even_for_an_english_browser(client):
    """Chinese first: Accept-Language does not switch the pages; only the language switch does."""
    r = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert r.status_code == 200
    assert "登录" in r.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    r = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "Log in" in r.content.decode() or "Sign in" in r.content.decode()


def test_api_errors_follow_accept_language(client):
    """API clients choose their language with Accept-Language."""
    zh = client.get("/api/v1/customers").json()["error"]["message"]
    en = client.get("/api/v1/customers", HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"]
    assert zh != en and en.startswith("Authentication required")
