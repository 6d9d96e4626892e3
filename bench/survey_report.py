"""`python -m bench.survey_report [--responses 100000] [--db sqlite|postgres] [--reuse]`: the satisfaction survey's
report (满意度调查报告) over 100,000 responses, beside the raw SQL of the same aggregations.

Dataset (/tmp/survey_report_bench/report-<responses>.sqlite3, or the PostgreSQL database named by
KEHU_BENCH_PG_DB, default kehu_bench_survey_report; never in git; rebuilt unless --reuse): migrated; an
executive (whole-company scope), 10 departments each with a manager and an account manager; the default
questionnaire (12 questions: six 1–5 ratings, a 3-row matrix, a 1–10, NPS, single and multiple choice, a
comment) approved; <responses> customers cloned set-based in SQL from one template (industry, province and
department varied), each graded A–D under an active grading policy; one survey at its analysis step with an
invitation, a response and every answer per customer (1.4 M answer rows, pseudo-random scores; 60 % leave a
comment from a pool of Chinese comments whose jieba keywords are stored per answer, as recording an answer
does); last year's survey with a stored report over the same scope (the comparison reads its snapshot).

Measures (one JSON line each, merged into bench/results/latest.json by name and db):

* survey_report_generate: ``report_generate`` as the executive — scope, the keyword rows check, the figures
  (histogram, choices, segments by grade / industry / region / department, keywords, verbatims, response
  counts, comparison), the snapshot stored, the audit entry — first run and the median of three; target ≤ 2 s;
* survey_report_generate_manager: the same as a department manager (figures over one department's customers);
* raw: the same aggregations as hand-written SQL through the bare cursor (histogram, choices, the segment
  pass with the grade join, keywords, verbatims, counts). ``ratio`` = service seconds / raw seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.run import FIELD_KEY, SECRET
from bench.run import merge_results as merge

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
VAR = Path(os.environ.get("KEHU_BENCH_SURVEY_REPORT_DIR", "/tmp/survey_report_bench"))
PG_NAME = os.environ.get("KEHU_BENCH_PG_DB", "kehu_bench_survey_report")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_NAME}"
TARGET_SECONDS = 2.0
INDUSTRIES = ["石化", "贸易", "机械", "电子", "纺织", "建材", "医药", "食品", "汽车配件", "物流"]
PROVINCES = [
    "浙江省",
    "江苏省",
    "上海市",
    "安徽省",
    "山东省",
    "北京市",
    "天津市",
    "河北省",
    "广东省",
    "福建省",
    "四川省",
    "湖北省",
]
COMMENTS = [
    "交货及时，物流配送很可靠",
    "产品质量稳定，批次之间差异小",
    "业务员响应快，沟通顺畅",
    "价格偏高，希望有更多优惠",
    "售后响应慢，投诉后三天才有人联系",
    "旺季时交货经常延迟",
    "发票开具不够及时",
    "技术资料更新不及时",
    "希望账期能更灵活一些",
    "客服电话经常占线",
    "产品质量稳定，但价格偏高",
    "交货及时，售后响应慢一些",
    "整体满意，希望加强售后回访",
    "技术支持专业，问题解决得快",
    "包装规范，到货无破损",
    "新牌号试用效果很好",
]


def configure(url: str) -> None:
    for k in ("KEHU_DEBUG", "KEHU_TESTING", "KEHU_TEST_DATABASE_URL", "KEHU_LOOKUP_KEY"):
        os.environ.pop(k, None)
    os.environ.update(
        KEHU_SECRET_KEY=SECRET,
        KEHU_FIELD_KEYS=FIELD_KEY,
        KEHU_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="kehu.settings",
        KEHU_VAR_DIR=str(VAR),
        KEHU_NOTIFY_CHANNELS="inapp",
    )


def wipe(db: str, url: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        from bench.run import pg_recreate

        pg_recreate(PG_NAME)


def _pick(values: list[str], expr: str) -> str:
    """A SQL CASE choosing one of ``values`` by ``expr`` mod len(values)."""
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE ({expr}) % {len(values)} {whens} END)"


def build(db: str, n: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.clone import clone, series
    from kehu.access.models import User
    from kehu.access.services import department_ensure_path
    from kehu.customers.models import Customer
    from kehu.grading.models import CustomerGrade, GradingPolicy
    from kehu.surveys.actions import figures as fx
    from kehu.surveys.actions.models import SurveyReport
    from kehu.surveys.models import Campaign, Question, Questionnaire
    from kehu.surveys.services import DEFAULT_QUESTIONS, DEFAULT_TITLE

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    hq = department_ensure_path(actor=None, path="总部")
    ceo = User.objects.create(username="bench_ceo", role="executive", department=hq, password="!")
    depts = [department_ensure_path(actor=None, path=f"总部/销售部/区域{d:02d}") for d in range(10)]
    User.objects.bulk_create(
        [
            User(username=f"bench_mgr{i:02d}", role="manager", department=depts[i], password="!")
            for i in range(10)
        ]
    )
    User.objects.bulk_create(
        [
            User(
                username=f"bench_rep{i:02d}",
                display_name=f"客户经理{i:02d}",
                role="account_manager",
                department=depts[i],
                password="!",
            )
            for i in range(10)
        ]
    )
    reps = list(User.objects.filter(role="account_manager").order_by("pk").values_list("pk", flat=True))
    q = Questionnaire.objects.create(
        title=DEFAULT_TITLE, status="approved", approved_at=timezone.now(), created_by=ceo
    )
    Question.objects.bulk_create(
        [
            Question(
                questionnaire=q, position=i, dimension=d, kind=k, text=t, options=o, required=k != "text"
            )
            for i, (d, k, t, o) in enumerate(DEFAULT_QUESTIONS, 1)
        ]
    )
    template = Customer.objects.create(
        name="浙江华星石化有限公司",
        kind="organization",
        industry="石化",
        province="浙江省",
        city="杭州市",
        stage="customer",
        owner_id=reps[0],
        department=depts[0],
    )
    policy = GradingPolicy.objects.create(
        name="客户分级", kind="threshold", state="active", active_from=timezone.localdate()
    )
    grade = CustomerGrade.objects.create(
        customer=template, policy_name="客户分级", policy=policy, grade="A", graded_at=timezone.now()
    )
    now = timezone.now()
    last = Campaign.objects.create(
        name="上年度客户满意度调查", stage="closed", questionnaire=q, owner=ceo, fieldwork_started_at=now
    )
    campaign = Campaign.objects.create(
        name="年度客户满意度调查（基准）",
        stage="analysis",
        questionnaire=q,
        owner=ceo,
        department=depts[0],
        previous=last,
        fieldwork_started_at=now,
    )
    questions = list(q.questions.order_by("position"))
    first = reps[0]
    with transaction.atomic(), connection.cursor() as cur:
        clone(
            cur,
            Customer,
            series(db, n - 1),
            template=template.pk,
            overrides={
                "name": "t.name || '·' || CAST(s.n AS TEXT)",
                "owner_id": f"{first} + (s.n % 10)",
                "department_id": f"(SELECT department_id FROM access_user u WHERE u.id = {first} + (s.n % 10))",
                "industry": _pick(INDUSTRIES, "s.n / 10"),
                "province": _pick(PROVINCES, "s.n / 7"),
            },
        )
        clone(
            cur,
            CustomerGrade,
            "customers_customer c",
            template=grade.pk,
            overrides={"customer_id": "c.id", "grade": _pick(["A", "B", "C", "D"], "c.id * 7 / 3")},
            where=f"c.id <> {template.pk}",
        )
        ts = "CURRENT_TIMESTAMP"
        cur.execute(
            "INSERT INTO surveys_invitation (campaign_id, customer_id, channel, reminders, sent_at, responded_at) "
            f"SELECT {campaign.pk}, c.id, 'link', 0, {ts}, {ts} FROM customers_customer c"
        )
        cur.execute(
            "INSERT INTO surveys_response (campaign_id, invitation_id, customer_id, channel, submitted_at) "
            f"SELECT campaign_id, id, customer_id, 'link', {ts} FROM surveys_invitation WHERE campaign_id = {campaign.pk}"
        )
        # pseudo-random but skewed to the satisfied side, varying by question and response
        h = "((r.id * 2654435761 + {qid} * 40503) % 1000)"
        js = "CAST({} AS jsonb)" if db == "postgres" else "{}"
        for x in questions:
            hq_ = h.format(qid=x.pk)
            cols = '(response_id, campaign_id, question_id, "row", number, choices, text)'
            base = (
                f"SELECT r.id, {campaign.pk}, {x.pk}, %s, %s, %s, %s FROM surveys_response r "
                f"WHERE r.campaign_id = {campaign.pk}"
            )
            if x.kind in ("rating_5", "matrix"):
                num = f"(CASE WHEN {hq_} < 60 THEN 1 WHEN {hq_} < 150 THEN 2 WHEN {hq_} < 400 THEN 3 WHEN {hq_} < 800 THEN 4 ELSE 5 END)"
                for o in x.options if x.kind == "matrix" else [{"value": ""}]:
                    cur.execute(
                        f"INSERT INTO surveys_answer {cols} "
                        + base % (f"'{o['value']}'", num, js.format("'[]'"), "''")
                    )
            elif x.kind == "rating_10":
                cur.execute(
                    f"INSERT INTO surveys_answer {cols} "
                    + base % ("''", f"10 - (({hq_} * {hq_}) / 111000)", js.format("'[]'"), "''")
                )
            elif x.kind == "nps":
                cur.execute(
                    f"INSERT INTO surveys_answer {cols} "
                    + base % ("''", f"10 - (({hq_} * {hq_}) / 91000)", js.format("'[]'"), "''")
                )
            elif x.kind == "single":
                cur.execute(
                    f"INSERT INTO surveys_answer {cols} "
                    + base
                    % ("''", "NULL", js.format(_pick(['["better"]', '["same"]', '["worse"]'], hq_)), "''")
                )
            elif x.kind == "multiple":
                combos = [
                    '["speed"]',
                    '["skill"]',
                    '["speed", "attitude"]',
                    '["followup"]',
                    '["speed", "followup"]',
                ]
                cur.execute(
                    f"INSERT INTO surveys_answer {cols} "
                    + base % ("''", "NULL", js.format(_pick(combos, hq_)), "''")
                )
            elif x.kind == "text":
                cur.execute(
                    f"INSERT INTO surveys_answer {cols} "
                    + base % ("''", "NULL", js.format("'[]'"), _pick(COMMENTS, hq_))
                    + f" AND {hq_} < 600"
                )
                text_q = x.pk
        # the keyword rows of each comment (what recording an answer stores)
        cur.execute("CREATE TABLE bench_terms (text VARCHAR(200), term VARCHAR(40))")
        for text in COMMENTS:
            for term in fx.terms(text):
                cur.execute("INSERT INTO bench_terms (text, term) VALUES (%s, %s)", [text, term])
        cur.execute(
            "INSERT INTO survey_actions_answerterm (answer_id, campaign_id, term) SELECT a.id, a.campaign_id, "
            f"t.term FROM surveys_answer a JOIN bench_terms t ON t.text = a.text WHERE a.question_id = {text_q}"
        )
        # each response's score row (what recording a response stores): the same counters as figures.Csat
        top, low, norm, rating, nps = _score_sql(questions)
        cur.execute(
            "INSERT INTO survey_actions_responsescore (response_id, campaign_id, customer_id, ratings, top, low, "
            f"norm_sum, nps) SELECT r.id, r.campaign_id, r.customer_id, SUM(CASE WHEN {rating} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {top} THEN 1 ELSE 0 END), SUM(CASE WHEN {low} THEN 1 ELSE 0 END), "
            f"COALESCE(SUM({norm}), 0), MAX(CASE WHEN {nps} THEN a.number END) FROM surveys_response r "
            f"JOIN surveys_answer a ON a.response_id = r.id WHERE r.campaign_id = {campaign.pk} "
            "AND a.number IS NOT NULL GROUP BY r.id, r.campaign_id, r.customer_id"
        )
        cur.execute("DROP TABLE bench_terms")
        cur.execute("ANALYZE")
    # last year's report over the whole company, as a snapshot (the comparison reads it)
    SurveyReport.objects.create(
        campaign=last,
        scope_key="all",
        generated_at=now,
        generated_by=ceo,
        figures={
            "responded": 90000,
            "nps": {"nps": 18.5},
            "overall": {"top_box_pct": 55.0, "mean_100": 66.0},
            "dimensions": [
                {"dimension": d, "top_box_pct": 50.0 + i, "mean_100": 60.0 + i}
                for i, d in enumerate(dict.fromkeys(x.dimension for x in questions))
            ],
        },
    )
    from kehu.surveys.models import Answer

    return {
        "customers": Customer.objects.count(),
        "responses": campaign.responses.count(),
        "answers": Answer.objects.count(),
        "build_seconds": round(time.perf_counter() - t0, 1),
    }


def _score_sql(questions) -> tuple[str, str, str, str, str]:
    """SQL conditions over ``a`` (an answer): in the top box, in the bottom box, normalised to 100, a rating,
    the NPS question."""

    def ids(kinds):
        return ",".join(str(x.pk) for x in questions if x.kind in kinds) or "0"

    r5, r10 = ids(("rating_5", "matrix")), ids(("rating_10",))
    top = f"(a.question_id IN ({r5}) AND a.number IN (4, 5)) OR (a.question_id IN ({r10}) AND a.number IN (9, 10))"
    low = f"(a.question_id IN ({r5}) AND a.number = 1) OR (a.question_id IN ({r10}) AND a.number IN (1, 2))"
    norm = (
        f"CASE WHEN a.question_id IN ({r5}) THEN (a.number - 1) * 25.0 "
        f"WHEN a.question_id IN ({r10}) THEN (a.number - 1) * 100.0 / 9.0 END"
    )
    return top, low, norm, f"a.question_id IN ({r5},{r10})", f"a.question_id IN ({ids(('nps',))})"


def measure_service(username: str, runs: int = 3) -> tuple[list[float], dict]:
    from kehu.access.models import User
    from kehu.surveys.actions import services
    from kehu.surveys.models import Campaign

    actor = User.objects.get(username=username)
    c = Campaign.objects.get(name="年度客户满意度调查（基准）")
    times, report = [], None
    for _ in range(runs):
        t = time.perf_counter()
        report = services.report_generate(actor=actor, campaign_id=c.pk)
        times.append(time.perf_counter() - t)
    f = report.figures
    return times, {
        "responded": f["responded"],
        "nps": f["nps"]["nps"],
        "csat": f["overall"]["top_box_pct"],
        "scope": report.scope_key[:40],
    }


def raw_statements(campaign_id: int, dept_ids: list[int] | None) -> list[tuple[str, list]]:
    """The report's aggregations written by hand: what the selectors make the database do."""
    from kehu.surveys.models import Question

    qs = list(Question.objects.filter(questionnaire__campaigns__pk=campaign_id).values_list("pk", "kind"))
    choice = ",".join(str(p) for p, k in qs if k in ("single", "multiple"))
    text = ",".join(str(p) for p, k in qs if k == "text")
    depts = ",".join(str(d) for d in dept_ids or [])
    via_r = (
        "JOIN surveys_response r ON r.id = a.response_id JOIN customers_customer c ON c.id = r.customer_id"
        if dept_ids
        else ""
    )
    scope = f"AND c.department_id IN ({depts})" if dept_ids else ""
    return [
        (
            'SELECT a.question_id, a."row", a.number, COUNT(*) FROM surveys_answer a '
            f"{via_r} WHERE a.campaign_id = %s AND a.number IS NOT NULL {scope} GROUP BY 1, 2, 3",
            [campaign_id],
        ),
        (
            f"SELECT a.question_id, a.choices, COUNT(*) FROM surveys_answer a {via_r} "
            f"WHERE a.campaign_id = %s AND a.question_id IN ({choice}) {scope} GROUP BY 1, 2",
            [campaign_id],
        ),
        (
            "SELECT g.grade, c.industry, c.province, c.department_id, COUNT(*), SUM(s.ratings), SUM(s.top), SUM(s.low), "
            "SUM(s.norm_sum), COUNT(s.nps), SUM(CASE WHEN s.nps >= 9 THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN s.nps <= 6 THEN 1 ELSE 0 END) FROM survey_actions_responsescore s "
            "JOIN customers_customer c ON c.id = s.customer_id "
            "LEFT JOIN grading_customergrade g ON g.customer_id = c.id AND g.policy_name = '客户分级' "
            f"WHERE s.campaign_id = %s {scope} GROUP BY 1, 2, 3, 4",
            [campaign_id],
        ),
        (
            "SELECT t.term, COUNT(*) FROM survey_actions_answerterm t "
            + ("JOIN surveys_answer a ON a.id = t.answer_id " + via_r if dept_ids else "")
            + f" WHERE t.campaign_id = %s {scope} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 30",
            [campaign_id],
        ),
        (
            f"SELECT a.text, r2.submitted_at FROM surveys_answer a JOIN surveys_response r2 ON r2.id = a.response_id "
            f"{via_r} WHERE a.campaign_id = %s AND a.question_id IN ({text}) AND a.text <> '' {scope} "
            "ORDER BY r2.submitted_at DESC, a.id DESC LIMIT 30",
            [campaign_id],
        ),
        (
            "SELECT COUNT(*), SUM(CASE WHEN i.responded_at IS NOT NULL THEN 1 ELSE 0 END) FROM surveys_invitation i "
            f"{'JOIN customers_customer c ON c.id = i.customer_id' if dept_ids else ''} WHERE i.campaign_id = %s {scope}",
            [campaign_id],
        ),
    ]


def measure_raw(username: str, runs: int = 3) -> float:
    from django.db import connection

    from kehu.access.models import User
    from kehu.surveys.models import Campaign

    actor = User.objects.get(username=username)
    c = Campaign.objects.get(name="年度客户满意度调查（基准）")
    dept_ids = sorted(actor.department_subtree_ids()) if actor.role == "manager" else None
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with connection.cursor() as cur:
            for sql, params in raw_statements(c.pk, dept_ids):
                cur.execute(sql, params)
                cur.fetchall()
        times.append(time.perf_counter() - t)
    return statistics.median(times)



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--reuse", action="store_true", help="keep the dataset of an earlier run")
    args = parser.parse_args(argv)
    VAR.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{VAR / f'report-{args.responses}.sqlite3'}" if args.db == "sqlite" else PG_URL
    if not args.reuse:
        wipe(args.db, url)
    configure(url)
    import django

    django.setup()
    if args.reuse:
        from kehu.surveys.models import Response

        meta = {"responses": Response.objects.count(), "reused": True}
    else:
        meta = build(args.db, args.responses)
    print(json.dumps({"dataset": meta}, ensure_ascii=False), flush=True)
    rows = []
    for name, user in (
        ("survey_report_generate", "bench_ceo"),
        ("survey_report_generate_manager", "bench_mgr00"),
    ):
        times, figures = measure_service(user)
        raw = measure_raw(user)
        median = statistics.median(times)
        rows.append(
            {
                "name": name,
                "db": args.db,
                "responses": meta["responses"],
                "first_s": round(times[0], 2),
                "median_s": round(median, 2),
                "raw_sql_s": round(raw, 2),
                "ratio": round(median / raw, 1) if raw else None,
                "figures": figures,
                "target": f"<= {TARGET_SECONDS} s",
                "met": median <= TARGET_SECONDS and times[0] <= TARGET_SECONDS,
                "load": list(os.getloadavg()),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    merge(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
