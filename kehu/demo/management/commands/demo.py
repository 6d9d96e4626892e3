"""`kehu demo --customers 2000`: a believable company — departments, one user per role, customers
across industries and real cities, contacts with decision chains, tags, custom fields, consents."""

import datetime as dt
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from kehu.access.models import User
from kehu.access.services import department_ensure_path, user_create
from kehu.customers import services
from kehu.customers.models import Contact, Customer, Tag
from kehu.demo.generators import customer_rows

USERS = [
    # username, password, role, department, display name
    ("admin", "Kehu#Admin2026", "admin", "总部", "系统管理员"),
    ("ceo", "Kehu#Ceo2026", "executive", "总部", "王建国"),
    ("manager", "Kehu#Manager2026", "manager", "总部/销售部/华东区", "李明辉"),
    ("rep", "Kehu#Rep2026", "account_manager", "总部/销售部/华东区", "张伟"),
    ("rep2", "Kehu#Rep2026", "account_manager", "总部/销售部/华东区", "刘洋"),
    ("north_manager", "Kehu#Manager2026", "manager", "总部/销售部/华北区", "赵志强"),
    ("north_rep", "Kehu#Rep2026", "account_manager", "总部/销售部/华北区", "陈静"),
    ("south_rep", "Kehu#Rep2026", "account_manager", "总部/销售部/华南区", "黄海燕"),
    ("agent", "Kehu#Agent2026", "service_agent", "总部/客服部", "周敏"),
    ("finance", "Kehu#Finance2026", "finance", "总部/财务部", "吴秀兰"),
    ("analyst", "Kehu#Analyst2026", "analyst", "总部/市场部", "孙浩然"),
    ("auditor", "Kehu#Auditor2026", "auditor", "总部/审计与合规部", "郑欣怡"),
]
# Which demo users look after the companies of a province (华东区, 华北区, 华南区).
REGION_OWNERS = {
    **dict.fromkeys(["浙江省", "江苏省", "上海市", "安徽省", "山东省"], ("rep", "rep2", "manager")),
    **dict.fromkeys(["北京市", "天津市", "河北省", "辽宁省", "河南省"], ("north_rep", "north_manager")),
    **dict.fromkeys(["广东省", "福建省", "湖南省"], ("south_rep",)),
}
TAGS = {
    "合作阶段": ["新开发", "稳定合作", "战略合作"],
    "贡献度": ["高贡献", "中贡献", "低贡献"],
    "行业地位": ["行业龙头", "区域领先"],
}


class Command(BaseCommand):
    help = "Load a demo company (departments, one user per role, customers, contacts, tags, consents)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when demo users exist")
        parser.add_argument("--url", default="http://127.0.0.1:8000",
                            help="where the server will answer, for the printed login address")

    def handle(self, *args, customers, seed, if_empty, url="http://127.0.0.1:8000", **options):
        self.url = url.rstrip("/")
        if if_empty and User.objects.filter(username="admin").exists():
            self.stdout.write("demo data already loaded")
            self._print_logins()
            return
        users = {}
        for username, password, role, dept, name in USERS:
            existing = User.objects.filter(username=username).first()
            users[username] = existing or user_create(
                actor=None, username=username, password=password, role=role,
                department=department_ensure_path(actor=None, path=dept), display_name=name)
        admin = users["admin"]
        tags = []
        for category, names in TAGS.items():
            for name in names:
                tag = Tag.objects.filter(category__name=category, name=name).first()
                tags.append(tag or services.tag_create(actor=admin, category=category, name=name))
        from kehu.customers.models import CustomFieldDefinition

        if not CustomFieldDefinition.objects.filter(key="annual_volume").exists():
            services.custom_field_define(actor=admin, key="annual_volume", label="年采购量(吨)", field_type="number")
            services.custom_field_define(actor=admin, key="credit_rating", label="信用等级", field_type="choice",
                                         choices=["AAA", "AA", "A", "B", "C"])
        owners = [users[u] for u in ("rep", "rep2", "north_rep", "south_rep", "manager", "north_manager")]
        rng = random.Random(seed)
        start = Customer.objects.count()
        rows = []
        for row in customer_rows(customers, seed=seed, start=start):
            # a region's reps look after its companies; provinces no region covers go to anyone
            regional = [users[u] for u in REGION_OWNERS.get(row["province"], ())]
            pool = regional or owners
            row["owner"] = pool[rng.randrange(len(pool))]
            rows.append(row)
        last_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        created = services.customer_bulk_create(actor=admin, rows=rows, basis={"basis": "contract", "purpose": "客户关系管理与合同履行"})
        self._decorate(admin, tags, rng, start)
        # Each capability adds its own believable records through its services.
        from kehu.customers.demo_dupes import demo_load as dupes_demo_load
        from kehu.customers.review.demo import demo_load as review_demo_load
        from kehu.demo.approvals import demo_load as approvals_demo_load
        from kehu.imports.demo import demo_load as imports_demo_load
        from kehu.service_desk.demo import demo_load as complaints_demo_load
        from kehu.service_desk.inspections.demo import demo_load as inspections_demo_load
        from kehu.service_desk.tickets.demo import demo_load as tickets_demo_load

        # Seeds stay per capability (seed + its offset) whatever the order of loading.
        for offset, load in ((3, imports_demo_load), (4, dupes_demo_load), (5, review_demo_load),
                             (6, approvals_demo_load)):
            self.stdout.write(load(users=users, rng=random.Random(seed + offset)))
        # The demo company's book (and the imports and duplicates above) is established business: admitted already,
        # as existing customers are; kehu.qualification.demo adds new companies pending account opening.
        from kehu.qualification.services import customers_admit_established

        customers_admit_established(actor=admin, customer_ids=Customer.objects.filter(pk__gt=last_id).values_list(
            "pk", flat=True), reason="演示数据：存量客户，已准入")
        from kehu.grading.allocation.demo import demo_load as allocation_demo_load
        from kehu.grading.demo import demo_load as grading_demo_load
        from kehu.orders.demo import demo_load as orders_demo_load

        # Twelve months of orders and payments (the facts grading computes on), the grades with their service
        # policies, and allocation — before the service desk, so its requests and inspection plans follow the
        # customers' grades (tighter deadlines, the grade's inspection cycle) as they would in a running company.
        self.stdout.write(orders_demo_load(users=users, rng=random.Random(seed + 10)))
        self.stdout.write(grading_demo_load(users=users, rng=random.Random(seed + 11)))
        self.stdout.write(allocation_demo_load(users=users, rng=random.Random(seed + 12)))
        from kehu.engagement.visits.demo import demo_load as visits_demo_load

        self.stdout.write(visits_demo_load(users=users, rng=random.Random(seed + 13)))
        for offset, load in ((1, tickets_demo_load), (2, inspections_demo_load), (7, complaints_demo_load)):
            self.stdout.write(load(users=users, rng=random.Random(seed + offset)))
        from kehu.engagement.care.demo import demo_load as care_demo_load
        from kehu.engagement.symposia.demo import demo_load as symposia_demo_load

        self.stdout.write(symposia_demo_load(users=users, rng=random.Random(seed + 20)))
        self.stdout.write(care_demo_load(users=users, rng=random.Random(seed + 21)))
        from kehu.engagement.demo import demo_load as followups_demo_load

        self.stdout.write(followups_demo_load(users=users, rng=random.Random(seed + 14)))
        from kehu.surveys.demo import demo_load as surveys_demo_load

        self.stdout.write(surveys_demo_load(users=users, rng=random.Random(seed + 30)))
        # A sales office's month: the roster and walk-ins, registrations and the pool, then deals (their
        # commissions split on the facts the first two recorded).
        from kehu.sales.reception.demo import demo_load as reception_demo_load

        self.stdout.write(reception_demo_load(users=users, rng=random.Random(seed + 32)))
        from kehu.sales.ownership.demo import demo_load as ownership_demo_load

        self.stdout.write(ownership_demo_load(users=users, rng=random.Random(seed + 34)))
        from kehu.sales.demo import demo_load as sales_demo_load

        self.stdout.write(sales_demo_load(users=users, rng=random.Random(seed + 31)))
        from kehu.sales.commissions.demo import demo_load as commissions_demo_load

        self.stdout.write(commissions_demo_load(users=users, rng=random.Random(seed + 33)))
        from kehu.qualification.demo import demo_load as qualification_demo_load

        self.stdout.write(qualification_demo_load(users=users, rng=random.Random(seed + 35)))
        from kehu.qualification.assessments.demo import demo_load as assessments_demo_load
        from kehu.qualification.blacklist.demo import demo_load as blacklist_demo_load

        self.stdout.write(blacklist_demo_load(users=users, rng=random.Random(seed + 36)))
        self.stdout.write(assessments_demo_load(users=users, rng=random.Random(seed + 37)))
        self.stdout.write(self.style.SUCCESS(f"demo company loaded: {created} customers, "
                                             f"{Contact.objects.count()} contacts"))
        self._print_logins()

    @transaction.atomic
    def _decorate(self, admin, tags, rng, start):
        """Tags, custom values and consents on the new customers (bulk, as an import would)."""
        new = list(Customer.objects.filter(id__gt=0).order_by("id")[start:])
        through = Customer.tags.through
        links = []
        for c in new:
            for tag in rng.sample(tags, rng.randint(0, 2)):
                links.append(through(customer_id=c.pk, tag_id=tag.pk))
            if c.kind == "organization":
                c.custom = {"annual_volume": rng.randint(200, 6000),
                            "credit_rating": rng.choice(["AAA", "AA", "A", "B"])}
        through.objects.bulk_create(links, ignore_conflicts=True)
        now = timezone.now()
        # A real book of customers grew over years: the oldest ids were registered about four years ago,
        # the newest this month (about 2 % of them), so "new this month" and the customers' ages look
        # like a company's, and every customer with a year of orders existed before its first order.
        for i, c in enumerate(new):
            days_ago = int(1500 * (1 - i / max(len(new), 1)) ** 1.5)
            c.created_at = now - dt.timedelta(days=days_ago, minutes=rng.randint(0, 600))
            c.updated_at = min(now, c.created_at + dt.timedelta(days=rng.randint(0, max(days_ago, 1))))
        Customer.objects.bulk_update(new, ["custom", "created_at", "updated_at"], batch_size=1000)
        from kehu.customers.models import ChangeRecord, Consent

        created = {c.pk: c.created_at for c in new}
        contacts = list(Contact.objects.filter(customer__in=new).only("pk", "customer_id"))
        for ct in contacts:
            ct.created_at = ct.updated_at = created[ct.customer_id]
        Contact.objects.bulk_update(contacts, ["created_at", "updated_at"], batch_size=1000)
        changes = list(ChangeRecord.objects.filter(customer__in=new, action="create").only("pk", "customer_id"))
        for ch in changes:
            ch.at = created[ch.customer_id]
        ChangeRecord.objects.bulk_update(changes, ["at"], batch_size=1000)
        consents = [
            Consent(customer_id=ct.customer_id, contact=ct, purpose="客户服务与业务联系", scope="姓名、手机、职务",
                    channel=rng.choice(["纸质授权书", "电子签名", "电话录音"]), evidence=f"授权书编号 SQ-{ct.pk:07d}",
                    granted_at=created[ct.customer_id], recorded_by=admin)
            for ct in Contact.objects.filter(customer__in=new, role="decision_maker")
        ]
        Consent.objects.bulk_create(consents, batch_size=1000)

    def _print_logins(self):
        self.stdout.write(f"\nDemo logins ({self.url}/login/):")
        for username, password, role, dept, name in USERS:
            self.stdout.write(f"  {username:<14} {password:<18} {role:<16} {dept}  {name}")
        from kehu.sales.reception.demo import EXTRA_REPS, PASSWORD

        for user in User.objects.filter(username__in=[u for u, _ in EXTRA_REPS]).select_related("department"):
            dept = user.department.full_name() if user.department_id else ""
            self.stdout.write(f"  {user.username:<14} {PASSWORD:<18} {user.role:<16} {dept}  {user.display_name}"
                              "  (reception rotation)")
