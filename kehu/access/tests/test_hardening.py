"""Hardening (issue 16): the client IP behind trusted proxies, Cache-Control: no-store on personal data,
the Content-Security-Policy, production settings from the environment (`kehu check --deploy` clean),
and every KEHU_* variable documented."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory, override_settings

from kehu.access.client_ip import client_ip
from kehu.audit.models import AuditEntry

ROOT = Path(__file__).resolve().parents[3]


# ---------------------------------------------------------------- client IP

def ip_of(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


def test_x_forwarded_for_is_ignored_without_trusted_proxies():
    """A client cannot choose its address: with no trusted proxy, X-Forwarded-For is ignored."""
    assert ip_of("198.51.100.9", "10.9.9.9") == "198.51.100.9"


@override_settings(KEHU_TRUSTED_PROXIES=["127.0.0.1/32", "10.0.0.0/8"])
def test_x_forwarded_for_is_honoured_only_from_a_trusted_proxy():
    """From a trusted proxy the right-most untrusted X-Forwarded-For entry is the client; what the
    client itself put on the left is not believed; from elsewhere the header is ignored."""
    assert ip_of("127.0.0.1", "198.51.100.9") == "198.51.100.9"
    assert ip_of("127.0.0.1", "6.6.6.6, 198.51.100.9") == "198.51.100.9"  # a forged left entry
    assert ip_of("127.0.0.1", "198.51.100.9, 10.1.2.3") == "198.51.100.9"  # two proxies in a row
    assert ip_of("203.0.113.5", "198.51.100.9") == "203.0.113.5"  # not a trusted proxy
    assert ip_of("127.0.0.1", "not-an-ip") == "127.0.0.1"
    assert ip_of("127.0.0.1") == "127.0.0.1"
    assert ip_of("127.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"


@pytest.mark.django_db
@override_settings(KEHU_TRUSTED_PROXIES=["127.0.0.1/32"])
def test_login_throttling_counts_the_client_behind_the_proxy_not_the_proxy(org):
    """Behind nginx, two clients are two addresses for the per-IP throttle."""
    from kehu.access import services
    from kehu.access.models import LoginAttempt

    request = RequestFactory().post("/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.9")
    services.login_check(request=request, username="rep", password=org.password)
    assert LoginAttempt.objects.get().ip == "198.51.100.9"


@pytest.mark.django_db
@override_settings(KEHU_TRUSTED_PROXIES=["127.0.0.1/32"])
def test_audit_entries_record_the_client_ip_behind_the_proxy(org, client):
    """The audit log stores the client's address, not the proxy's."""
    r = client.post("/login/", {"username": "rep", "password": org.password},
                    REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert r.status_code == 302
    client.post("/account/tokens/", {"name": "ERP 同步"}, REMOTE_ADDR="127.0.0.1",
                HTTP_X_FORWARDED_FOR="198.51.100.23")
    assert AuditEntry.objects.get(action="token.create").ip == "198.51.100.23"


@pytest.mark.django_db
@override_settings(KEHU_TRUSTED_PROXIES=["127.0.0.1/32"], KEHU_PUBLIC_FORM_RATE=(2, 3600))
def test_public_complaint_form_limit_counts_each_client_behind_the_proxy(org, client):
    """The public form's per-address limit applies to the client behind nginx: one client is
    limited, another behind the same proxy is not."""
    body = {"complainant_name": "王芳", "complainant_phone": "13812345678", "subject": "送货延误",
            "description": "订单迟到三天"}

    def submit(ip):
        return client.post("/api/v1/public/complaints", body, content_type="application/json",
                           REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ip)

    assert submit("198.51.100.1").status_code == 201
    assert submit("198.51.100.1").status_code == 201
    assert submit("198.51.100.1").status_code == 429
    assert submit("198.51.100.2").status_code == 201


# ---------------------------------------------------------------- responses

@pytest.mark.django_db
def test_api_and_logged_in_pages_are_not_stored_by_caches(org, client, api_client):
    """Personal data: every API answer and every page seen logged in says Cache-Control: no-store."""
    r = api_client.as_user(org.rep).get("/customers")
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    assert "no-store" in client.get("/api/v1/customers")["Cache-Control"]  # the 401 as well
    client.force_login(org.rep)
    for path in ("/workbench/", "/", "/account/tokens/"):
        r = client.get(path)
        assert r.status_code == 200 and "no-store" in r["Cache-Control"], path


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_script(org, client):
    """Every page has a CSP: scripts from our origin or with the request's nonce only, no framing."""
    client.force_login(org.admin)
    r = client.get("/workbench/")
    policy = r["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert client.get("/grading/policies/new/")["Content-Security-Policy"].count("'nonce-") == 1


def test_no_template_has_an_inline_event_handler_or_a_script_without_nonce():
    """The CSP forbids inline handlers (onclick=, onsubmit=) and inline scripts without the nonce."""
    offenders = []
    for path in (ROOT / "kehu").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path}: inline handler")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "nonce=" not in tag and "application/json" not in tag:
                offenders.append(f"{path}: {tag}")
        if "javascript:" in text:
            offenders.append(f"{path}: javascript: URL")
    assert offenders == []


# ---------------------------------------------------------------- production settings

PRODUCTION_ENV = {
    "KEHU_SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "KEHU_FIELD_KEYS": "uB3x8Ap-4GQ8vQqY0Z2yGzKqS3uQk8o0Tj9Yb2c1s5Q=",
    "KEHU_ALLOWED_HOSTS": "crm.example.cn",
}


def _kehu(args, tmp_path, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEHU_", "DJANGO_"))}
    env.update(PRODUCTION_ENV, KEHU_VAR_DIR=str(tmp_path), KEHU_DATABASE_URL=f"sqlite:///{tmp_path / 'k.sqlite3'}",
               DJANGO_SETTINGS_MODULE="kehu.settings", **(extra or {}))
    return subprocess.run([sys.executable, "-m", "kehu", *args], env=env, capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)


def test_check_deploy_is_clean_in_production_settings(tmp_path):
    """`kehu check --deploy` with KEHU_DEBUG unset and the required environment: no warning."""
    result = _kehu(["check", "--deploy", "--fail-level", "WARNING"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_harden_cookies_https_and_hsts(tmp_path):
    """Without KEHU_DEBUG: secure, HttpOnly, SameSite cookies, HTTPS redirect, a year of HSTS (preload); behind a
    trusted proxy its X-Forwarded-Proto says the request was HTTPS."""
    script = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
              "s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
              "getattr(s, 'SECURE_PROXY_SSL_HEADER', None))")
    result = _kehu(["shell", "-c", script], tmp_path, {"KEHU_TRUSTED_PROXIES": "127.0.0.1/32"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "True", "True", "Lax", "True", "31536000", "('HTTP_X_FORWARDED_PROTO',",
                                      "'https')"]


def test_every_kehu_variable_is_documented():
    """Each KEHU_* environment variable that settings.py reads has a row in docs/configuration.md."""
    settings_text = (ROOT / "kehu" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r"""(?:environ(?:\.get)?\(|_env_bool\(|_env_list\(|environ\[)\s*["'](KEHU_[A-Z0-9_]+)""",
                           settings_text))
    assert len(names) > 30
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\|\s*`(KEHU_[A-Z0-9_]+)`", doc, flags=re.MULTILINE))
    assert sorted(names - documented) == []


def test_health_checks_are_not_redirected_to_https(tmp_path):
    """In production the probes of /healthz, /readyz and /metrics over plain HTTP get no redirect."""
    script = ("import re; from django.conf import settings as s; "
              "print(all(any(re.search(p, u) for p in s.SECURE_REDIRECT_EXEMPT) for u in "
              "('healthz', 'readyz', 'metrics')), any(re.search(p, 'customers/') for p in s.SECURE_REDIRECT_EXEMPT))")
    result = _kehu(["shell", "-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "False"]
