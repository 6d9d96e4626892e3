"""Keep the ciphertext beside each blacklist hash, so `kehu keys_rotate` can recompute the hashes under a new
lookup key (before, a rotation left every listed phone and ID number unmatchable). Existing rows take the
ciphertext from their customer or its contacts where the hash still matches; rows whose customer is gone keep
their hash alone (counted by the rotation as hash-only)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Entry = apps.get_model("blacklist", "BlacklistEntry")
    Phone = apps.get_model("blacklist", "BlacklistPhone")
    Customer = apps.get_model("customers", "Customer")
    Contact = apps.get_model("customers", "Contact")
    for entry in Entry.objects.exclude(customer_id=None).iterator():
        cust = Customer.objects.filter(pk=entry.customer_id).values("mobile_hash", "mobile_enc", "id_number_hash",
                                                                     "id_number_enc").first()
        if cust is None:
            continue
        if entry.id_number_hash and cust["id_number_hash"] == entry.id_number_hash:
            Entry.objects.filter(pk=entry.pk).update(id_number_enc=cust["id_number_enc"])
        tokens = {cust["mobile_hash"]: cust["mobile_enc"]} if cust["mobile_hash"] else {}
        for digest, token in Contact.objects.filter(customer_id=entry.customer_id).exclude(mobile_hash="").order_by(
                "pk").values_list("mobile_hash", "mobile_enc"):
            tokens.setdefault(digest, token)
        for phone in Phone.objects.filter(entry_id=entry.pk, phone_enc=""):
            if tokens.get(phone.phone_hash):
                Phone.objects.filter(pk=phone.pk).update(phone_enc=tokens[phone.phone_hash])


class Migration(migrations.Migration):

    dependencies = [
        ("blacklist", "0002_seed_chains"),
        ("customers", "0011_customer_status_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="blacklistentry",
            name="id_number_enc",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="blacklistphone",
            name="phone_enc",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="screeninghit",
            name="source",
            field=models.CharField(
                choices=[("create", "New customer"), ("update", "Change of a customer's name, code or phone"),
                         ("bulk", "Bulk registration or import"), ("claim", "Claim from the public pool"),
                         ("public_form", "Public form")],
                max_length=12, verbose_name="source"),
        ),
    ]
