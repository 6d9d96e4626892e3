import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from kehu.audit.models import AuditEntry
from kehu.customers import services
from kehu.customers.models import Contact
from kehu.customers.tests.factories import BASIS

pytestmark = pytest.mark.django_db


def test_key_rotation_reencrypts_with_new_key_and_phone_lookup_still_works(org, api_client):
    """After `kehu keys rotate` with a new key first, values decrypt with the new key alone and the
    phone search still finds the customer, even with a changed lookup key."""
    customer = services.customer_create(actor=org.rep, data={"name": "宁波远航物流有限公司"})
    contact = services.contact_create(actor=org.rep, customer_id=customer.pk,
                                      data={"name": "陈晓东", "mobile": "13912345678", "basis": BASIS})
    old_token = Contact.objects.get(pk=contact.pk).mobile_enc
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_KEYS=[new_key, *settings.FIELD_KEYS], LOOKUP_KEY="rotated-lookup-key"):
        call_command("keys_rotate")
        stored = Contact.objects.get(pk=contact.pk)
        assert stored.mobile_enc != old_token
        assert Fernet(new_key.encode()).decrypt(stored.mobile_enc.encode()) == b"13912345678"
        r = api_client.as_user(org.rep).get("/customers", {"q": "139 1234 5678"})
        assert [c["id"] for c in r.json()["items"]] == [customer.pk]
    assert AuditEntry.objects.filter(action="keys.rotate").count() == 1


def test_key_rotation_reaches_the_complainant_phone_so_public_tracking_still_works(org, api_client):
    """A complaint keeps its complainant's phone encrypted with a lookup hash for public tracking: a
    rotation of both keys rewrites them too, and the complainant can still track with the phone."""
    from kehu.service_desk.models import Complaint

    anon = api_client.as_user(None)
    no = anon.post("/public/complaints", {"complainant_name": "李女士", "complainant_phone": "13900139000",
                                          "subject": "服务态度", "description": "客服挂断电话。"}).json()["tracking_no"]
    old = Complaint.objects.get(tracking_no=no).complainant_phone_hash
    with override_settings(FIELD_KEYS=[Fernet.generate_key().decode(), *settings.FIELD_KEYS],
                           LOOKUP_KEY="rotated-lookup-key"):
        counts = services.field_keys_rotate(actor=None)
        assert counts["complaint"] == 1
        assert Complaint.objects.get(tracking_no=no).complainant_phone_hash != old
        r = anon.post("/public/complaints/track", {"tracking_no": no, "phone": "13900139000"})
        assert r.status_code == 200 and r.json()["tracking_no"] == no
