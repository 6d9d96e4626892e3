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
