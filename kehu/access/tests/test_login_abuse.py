"""Login abuse (issue 16): per-IP and per-account throttling counted in the database before the Argon2
password check, growing lockouts, and strangers unable to lock the owner out."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import RequestFactory, override_settings
from django.utils import timezone

from kehu.access import services, throttle
from kehu.access.models import LoginThrottle
from kehu.audit.models import AuditEntry
from kehu.errors import Locked, NotAuthenticated

pytestmark = pytest.mark.django_db


def request_from(ip):
    return RequestFactory().post("/login/", REMOTE_ADDR=ip)


def login(username, password, ip="203.0.113.7", **kw):
    return services.login_check(request=request_from(ip), username=username, password=password, **kw)


@pytest.fixture
def password_checks(monkeypatch):
    """Every call of the password check (Django's authenticate, which runs Argon2)."""
    calls, lock = [], threading.Lock()
    real = services.authenticate

    def counting(request, **credentials):
        with lock:
            calls.append(credentials["username"])
        return real(request, **credentials)

    monkeypatch.setattr(services, "authenticate", counting)
    return calls


def throttle_settings(**changes):
    from django.conf import settings

    return override_settings(KEHU_LOGIN_THROTTLE={**settings.KEHU_LOGIN_THROTTLE, **changes})


def test_a_thousand_wrong_logins_with_different_usernames_from_one_ip_are_throttled(org, password_checks):
    """Per-IP limit: 1,000 wrong logins with different usernames from one address get at most
    ip_attempts password checks; the rest are refused with 429 and a Retry-After, costing no Argon2."""
    from django.conf import settings

    limit = settings.KEHU_LOGIN_THROTTLE["ip_attempts"]
    refused = 0
    for i in range(1000):
        try:
            login(f"guess{i}", "wrong-password", ip="198.51.100.9")
        except NotAuthenticated:
            pass
        except Locked as exc:
            refused += 1
            assert exc.status == 429 and exc.retry_after > 0
    assert len(password_checks) == limit
    assert refused == 1000 - limit
    # Another address is not affected.
    assert login("rep", org.password, ip="198.51.100.10") == org.rep


def test_token_endpoint_answers_429_with_retry_after_when_the_ip_is_throttled(org, client):
    """POST /auth/token from a throttled address: 429, the API error format, and Retry-After seconds."""
    with throttle_settings(ip_attempts=3):
        for i in range(3):
            r = client.post("/api/v1/auth/token", {"username": f"guess{i}", "password": "x"},
                            content_type="application/json")
            assert r.status_code == 401
        r = client.post("/api/v1/auth/token", {"username": "rep", "password": org.password},
                        content_type="application/json")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "locked"
    assert 0 < int(r["Retry-After"]) <= 15 * 60


def test_login_page_says_clearly_when_throttled(org, client):
    """The HTML login page answers 429 with Retry-After and the message, and logs nobody in."""
    with throttle_settings(ip_attempts=2):
        for _i in range(2):
            assert client.post("/login/", {"username": "nobody", "password": "x"}).status_code == 400
        r = client.post("/login/", {"username": "rep", "password": org.password})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert r.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_growing_delays_each_lockout_lasts_twice_the_one_before(org):
    """The first lockout lasts lock_minutes (15), the next one twice that, up to max_lock_minutes."""
    for _i in range(5):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong")
    with pytest.raises(Locked) as first:
        login("rep", "wrong")
    assert 14 * 60 < first.value.retry_after <= 15 * 60
    # The lockout ends; five more failures lock again, for 30 minutes.
    LoginThrottle.objects.filter(key__startswith="acctip:").update(blocked_until=timezone.now())
    for _i in range(5):
        with pytest.raises(NotAuthenticated):
            login("rep", "wrong")
    with pytest.raises(Locked) as second:
        login("rep", "wrong")
    assert 29 * 60 < second.value.retry_after <= 30 * 60
    assert AuditEntry.objects.filter(action="user.locked").count() == 2


def test_a_stranger_cannot_lock_the_owner_out_from_another_address(org, password_checks):
    """The account lockout counts failures per client address: five failures from a stranger's IP
    lock the account for that IP only, and the owner logs in from theirs."""
    for _i in range(5):
        with pytest.raises(NotAuthenticated):
            login("admin", "wrong", ip="198.51.100.66")
    with pytest.raises(Locked):
        login("admin", org.password, ip="198.51.100.66")
    assert login("admin", org.password, ip="203.0.113.7") == org.admin


def test_a_spray_from_many_addresses_does_not_lock_the_owner_on_a_known_address(org, password_checks):
    """Failures from many addresses (account_attempts, all together) throttle only places that never
    logged in as the account; the owner's address from an earlier login still gets in."""
    assert login("admin", org.password, ip="203.0.113.7") == org.admin  # the owner's usual address
    with throttle_settings(account_attempts=6):
        for i in range(6):
            with pytest.raises(NotAuthenticated):
                login("admin", "wrong", ip=f"198.51.100.{i + 1}")
        checks = len(password_checks)
        with pytest.raises(Locked):
            login("admin", org.password, ip="198.51.100.200")  # a new place: refused before the check
        assert len(password_checks) == checks
        assert login("admin", org.password, ip="203.0.113.7") == org.admin
        # A browser holding the cookie of an earlier login is known too, whatever its address.
        assert login("admin", org.password, ip="198.51.100.201", known_device=True) == org.admin


def test_a_successful_login_gives_its_slot_back_and_clears_the_account_lockout(org):
    """An office behind one address: successful logins do not fill the per-IP counter, and a right
    password before the lockout resets the account's failures from that address."""
    with throttle_settings(ip_attempts=3):
        for _i in range(10):
            assert login("rep", org.password) == org.rep
    for _i in range(4):
        with pytest.raises(NotAuthenticated):
            login("rep2", "wrong")
    assert login("rep2", org.password) == org.rep2
    for _i in range(4):
        with pytest.raises(NotAuthenticated):
            login("rep2", "wrong")
    assert login("rep2", org.password) == org.rep2


def test_usernames_differing_in_case_share_the_account_counter(org):
    """"Admin" and "admin" count against one lockout (no way around it by changing case)."""
    for name in ("admin", "Admin", "ADMIN", "aDmin", "admiN"):
        with pytest.raises(NotAuthenticated):
            login(name, "wrong")
    with pytest.raises(Locked):
        login("admin", org.password)


def test_old_counters_are_purged(org):
    """The daily purge deletes counters untouched for longer than any lockout."""
    with pytest.raises(NotAuthenticated):
        login("rep", "wrong")
    assert throttle.purge() == 0
    LoginThrottle.objects.update(updated_at=timezone.now() - dt.timedelta(days=3))
    from kehu.access.models import LoginAttempt
    from kehu.access.tasks import login_records_purge

    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(days=60))
    assert login_records_purge.call_local() == {"counters": 3, "attempts": 1}
    assert not LoginThrottle.objects.exists() and not LoginAttempt.objects.exists()


# ---------------------------------------------------------------- parallel attempts

def _parallel(n, target):
    errors, start = [], threading.Barrier(n)

    def run(i):
        try:
            start.wait()
            target(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.django_db(transaction=True)
def test_eight_parallel_tries_against_a_limit_of_five_get_at_most_five_password_checks(
        org, password_checks, audit_triggers_lifted_at_teardown):
    """The counter is taken atomically before the password check: 8 simultaneous wrong logins (one
    account, one address; each on its own database connection) get at most 5 Argon2 checks."""
    outcomes = []

    def attempt(_i):
        try:
            login("admin", "wrong-password", ip="198.51.100.77")
        except (NotAuthenticated, Locked) as exc:
            outcomes.append(type(exc).__name__)

    errors = _parallel(8, attempt)
    assert errors == []
    assert len(outcomes) == 8
    assert len(password_checks) <= 5
    assert outcomes.count("Locked") >= 3


@pytest.mark.django_db(transaction=True)
def test_parallel_takes_never_exceed_the_limit(audit_triggers_lifted_at_teardown):
    """The counter's one conditional UPDATE: 8 threads × 5 takes against a limit of 7 grant exactly 7."""
    granted, lock = [], threading.Lock()
    limit = throttle.Limit("ip:192.0.2.1", 7)

    def take(_i):
        for _j in range(5):
            try:
                throttle.take(limit)
            except throttle.Throttled:
                continue
            with lock:
                granted.append(1)

    errors = _parallel(8, take)
    assert errors == []
    assert len(granted) == 7


def test_the_owners_browser_is_known_by_its_signed_cookie_whatever_its_address(org, client):
    """The login page sets a signed cookie at each login; that browser is a known place for the
    account even from a new address, while a stranger's browser on a new address is throttled."""
    from django.test import Client

    assert client.post("/login/", {"username": "admin", "password": org.password},
                       REMOTE_ADDR="203.0.113.7").status_code == 302
    client.post("/logout/")
    with throttle_settings(account_attempts=3):
        for i in range(3):
            with pytest.raises(NotAuthenticated):
                login("admin", "wrong", ip=f"198.51.100.{i + 1}")
        stranger = Client().post("/login/", {"username": "admin", "password": org.password},
                                 REMOTE_ADDR="198.51.100.99")
        assert stranger.status_code == 429
        owner = client.post("/login/", {"username": "admin", "password": org.password}, REMOTE_ADDR="192.0.2.50")
        assert owner.status_code == 302
        forged = Client()
        forged.cookies["kehu_known_login"] = "forged"
        assert forged.post("/login/", {"username": "admin", "password": org.password},
                           REMOTE_ADDR="198.51.100.98").status_code == 429
