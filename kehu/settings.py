"""Kehu's one settings module. Everything a deployment changes comes from KEHU_* environment variables."""

import base64
import hashlib
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("KEHU_VAR_DIR", BASE_DIR.parent / "var"))


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _env_bool("KEHU_DEBUG")
TESTING = _env_bool("KEHU_TESTING")

SECRET_KEY = os.environ.get("KEHU_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "KEHU_SECRET_KEY is not set. Refusing to start in production mode without a secret "
            "(set KEHU_SECRET_KEY, or KEHU_DEBUG=1 for a development server)."
        )
    SECRET_KEY = "kehu-insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = _env_list("KEHU_ALLOWED_HOSTS", "127.0.0.1,localhost" + (",testserver" if TESTING else ""))
CSRF_TRUSTED_ORIGINS = _env_list("KEHU_CSRF_TRUSTED_ORIGINS")

# Field-encryption keys (Fernet, urlsafe base64, 32 bytes). The first key encrypts; all keys decrypt,
# so a new key is put first and `kehu keys rotate` re-encrypts every stored value with it.
FIELD_KEYS = _env_list("KEHU_FIELD_KEYS")
if not FIELD_KEYS:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("KEHU_FIELD_KEYS is not set; personal data cannot be encrypted at rest.")
    FIELD_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(("field:" + SECRET_KEY).encode()).digest()).decode()]
# Key of the keyed hash stored beside encrypted values for exact lookup (phone search). Changing it
# requires `kehu keys rotate`, which recomputes every lookup hash.
LOOKUP_KEY = os.environ.get("KEHU_LOOKUP_KEY") or hashlib.sha256(("lookup:" + FIELD_KEYS[-1]).encode()).hexdigest()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "huey.contrib.djhuey",
    "csp",
    "ninja",  # the API docs page from its own static files (no CDN, no inline script: CSP holds)
    "kehu.access",
    "kehu.audit",
    "kehu.customers",
    "kehu.workdays",
    "kehu.service_desk",
    "kehu.service_desk.inspections",
    "kehu.service_desk.tickets",
    "kehu.customers.review",
    "kehu.grading",
    "kehu.grading.allocation",
    "kehu.engagement",
    "kehu.engagement.visits",
    "kehu.engagement.symposia",
    "kehu.engagement.care",
    "kehu.sales",
    "kehu.sales.ownership",
    "kehu.sales.reception",
    "kehu.sales.commissions",
    "kehu.qualification",
    "kehu.qualification.blacklist",
    "kehu.qualification.assessments",
    "kehu.surveys",
    "kehu.surveys.actions",
    "kehu.imports",
    "kehu.notifications",
    "kehu.approvals",
    "kehu.workbench",
    "kehu.orders",
    "kehu.demo",
    "kehu.ops",
    "kehu.backup",  # `kehu backup` / `kehu restore` (no tables)
    "kehu.concurrency",
]

MIDDLEWARE = [
    "kehu.ops.middleware.RequestIdMiddleware",  # first: times the whole request, stamps logs with its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "kehu.access.middleware.IdleSessionMiddleware",  # Django's; background reads save at most once a minute
    "kehu.access.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "kehu.access.middleware.CachedAuthenticationMiddleware",  # Django's, the user row from the cache
    "kehu.imports.uploads.UploadLimitMiddleware",  # 413 before an over-large upload is read or spooled
    "kehu.access.middleware.RequestContextMiddleware",
    "kehu.access.middleware.AbsoluteSessionMiddleware",
    "kehu.access.middleware.NoStoreMiddleware",
    "kehu.access.middleware.PasswordChangeRequiredMiddleware",
    "kehu.api.ApiErrorFormatMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kehu.ops.replica.ReplicaReadsMiddleware",  # last: it calls the view itself for reporting reads
]

# The cache every process of a deployment shares: Redis when KEHU_CACHE_URL (or KEHU_REDIS_URL) is set — needed
# with several app servers —, else files under var/cache (shared by the processes of one machine). It holds
# the token → user look-up and the session's user (kehu.access.authcache: dropped at once on revocation and on
# any change of the user, cluster-wide because the cache is shared), the workbench figures and the calendar
# warning. Tests use each process's memory.
KEHU_CACHE_URL = os.environ.get("KEHU_CACHE_URL") or os.environ.get("KEHU_REDIS_URL", "")
if KEHU_CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": KEHU_CACHE_URL,
                          "KEY_PREFIX": "kehu"}}
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kehu"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache"), "OPTIONS": {"MAX_ENTRIES": 50_000}}}
# How long a live token's look-up and a user row stay cached (0: every request reads them from the database).
KEHU_AUTH_CACHE_SECONDS = int(os.environ.get("KEHU_AUTH_CACHE_SECONDS", "300"))
SESSION_ENGINE = "kehu.access.sessions"  # Django's database sessions; on PostgreSQL not waiting for the disk

ROOT_URLCONF = "kehu.urls"
WSGI_APPLICATION = "kehu.wsgi.application"
AUTH_USER_MODEL = "access.User"
LOGIN_URL = "access:login"
LOGIN_REDIRECT_URL = "workbench:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kehu.access.context_processors.navigation",
                "kehu.workdays.context_processors.calendar_warning",
                "kehu.grading.allocation.context_processors.navigation",
                "csp.context_processors.nonce",
            ],
        },
    }
]


def _database(url: str) -> dict:
    # Persistent connections on both databases: a new SQLite connection per request (its PRAGMAs, Django's
    # functions, the schema parsed again on the first statement, a cold page cache) cost 12–18 ms on the migrated
    # schema — more than most requests' own work (bench/README.md "Per-request overhead").
    config = dj_database_url.parse(url, conn_max_age=600)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
                # two writers queue on the busy timeout instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            }
        )
    elif config["ENGINE"].startswith("django.db.backends.postgresql"):
        # No JIT compilation: it pays off for long analytical scans, not for a request's statements. Its
        # threshold is the planner's cost, and a capped count (LIMIT 1,001 over a dense search term) is costed
        # above it: 50–70 ms of a 185 ms statement at 1M customers went to compiling it (bench/README.md
        # "Reads at 1M").
        options = config.setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
    return config


DATABASE_URL = os.environ.get("KEHU_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kehu.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
if os.environ.get("KEHU_TEST_DATABASE_URL"):
    # The test run against another server: pytest-django creates test_<name> beside it.
    DATABASES = {"default": _database(os.environ["KEHU_TEST_DATABASE_URL"])}
# Reports, exports and analytics may read from a streaming replica (kehu/ops/replica.py): the views
# named below, GET only, outside transactions, while the replica answers and lags less than the limit.
if os.environ.get("KEHU_REPLICA_DATABASE_URL"):
    DATABASES["replica"] = _database(os.environ["KEHU_REPLICA_DATABASE_URL"])
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["kehu.ops.replica.ReplicaRouter"]
KEHU_REPLICA_MAX_LAG_SECONDS = float(os.environ.get("KEHU_REPLICA_MAX_LAG_SECONDS", "30"))
KEHU_REPLICA_CHECK_SECONDS = float(os.environ.get("KEHU_REPLICA_CHECK_SECONDS", "5"))
KEHU_REPLICA_VIEWS = _env_list(
    "KEHU_REPLICA_VIEWS",
    "exports:customers,api:customer_export,service_desk:reports,api:complaint_report_sla,"
    "api:complaint_report_causes,api:complaint_report_categories,api:complaint_report_repeat,"
    "api:complaint_report_handling_time,api:workbench_charts")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "kehu.access.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login-failure lockout and idle timeout (policy defaults, configurable).
KEHU_LOCKOUT_ATTEMPTS = int(os.environ.get("KEHU_LOCKOUT_ATTEMPTS", "5"))
KEHU_LOCKOUT_WINDOW_MINUTES = int(os.environ.get("KEHU_LOCKOUT_WINDOW_MINUTES", "15"))
SESSION_COOKIE_AGE = int(os.environ.get("KEHU_IDLE_TIMEOUT_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True  # the cookie age then counts from the last request: an idle timeout
# (background htmx/fetch reads save it at most once a minute: kehu.access.middleware.IdleSessionMiddleware)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Production (KEHU_DEBUG off) is served over HTTPS: secure cookies, redirect to HTTPS, HSTS. Each can be
# turned off for a plain-HTTP deployment on a closed network (KEHU_SECURE_COOKIES=0, KEHU_SSL_REDIRECT=0,
# KEHU_HSTS_SECONDS=0).
_PRODUCTION = not (DEBUG or TESTING)
SESSION_COOKIE_SECURE = _env_bool("KEHU_SECURE_COOKIES", _PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # the forms send the token as a field, htmx from the <meta> in base.html
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = _env_bool("KEHU_SSL_REDIRECT", _PRODUCTION)
# Health checks and Prometheus call the server directly over plain HTTP (never redirected).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("KEHU_HSTS_SECONDS", str(365 * 24 * 3600) if _PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("KEHU_HSTS_INCLUDE_SUBDOMAINS", True)
# The preload directive alone changes nothing: browsers' lists include a domain only once it is submitted.
SECURE_HSTS_PRELOAD = _env_bool("KEHU_HSTS_PRELOAD", _PRODUCTION)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind a TLS-terminating proxy (nginx) the request arrives as HTTP: believe its X-Forwarded-Proto. The
# proxy must set that header itself (overwriting the client's). On by default when KEHU_TRUSTED_PROXIES is set.
if _env_bool("KEHU_PROXY_SSL_HEADER", bool(_env_list("KEHU_TRUSTED_PROXIES"))):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# ISO first among the input formats, so <input type=date> and datetime-local show the value (kehu/formats)
FORMAT_MODULE_PATH = ["kehu.formats"]

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]  # shared assets and vendor/ (kehu itself is no app)
STATIC_ROOT = os.environ.get("KEHU_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True  # serve straight from the apps' static/ dirs: no collectstatic step needed
WHITENOISE_AUTOREFRESH = DEBUG

# Background work: Huey, SQLite storage under var/ by default, Redis when KEHU_REDIS_URL is set.
# `kehu worker` runs the consumer with its periodic tasks; tests run tasks inline (immediate mode).
if os.environ.get("KEHU_REDIS_URL"):
    HUEY = {"huey_class": "huey.RedisHuey", "name": "kehu", "url": os.environ["KEHU_REDIS_URL"],
            "immediate": TESTING}
else:
    HUEY = {"huey_class": "huey.SqliteHuey", "name": "kehu", "filename": str(VAR_DIR / "huey.sqlite3"),
            "immediate": TESTING}
HUEY["consumer"] = {"workers": int(os.environ.get("KEHU_WORKER_THREADS", "2")), "worker_type": "thread",
                    "periodic": True, "check_worker_health": True,
                    "max_delay": 0.5}  # an idle worker polls the SQLite queue twice a second (audit seal lag)

# Notifications: every notify() goes to each channel listed here ("inapp" = the bell, "email" = a mail
# sent by the worker after the write commits, to users with an e-mail address, when KEHU_NOTIFY_EMAIL is on).
KEHU_NOTIFY_CHANNELS = _env_list("KEHU_NOTIFY_CHANNELS", "inapp,email")
KEHU_NOTIFY_EMAIL = _env_bool("KEHU_NOTIFY_EMAIL", True)
KEHU_SITE_URL = os.environ.get("KEHU_SITE_URL", "").rstrip("/")  # makes the links in e-mails absolute

# E-mail: printed to the console in development, sent by SMTP otherwise (KEHU_EMAIL_BACKEND overrides).
EMAIL_BACKEND = os.environ.get("KEHU_EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("KEHU_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("KEHU_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("KEHU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("KEHU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("KEHU_EMAIL_USE_TLS")  # STARTTLS, usually port 587
EMAIL_USE_SSL = _env_bool("KEHU_EMAIL_USE_SSL")  # implicit TLS, usually port 465
EMAIL_TIMEOUT = int(os.environ.get("KEHU_EMAIL_TIMEOUT", "30"))  # seconds; a failed send is retried by the worker
DEFAULT_FROM_EMAIL = os.environ.get("KEHU_EMAIL_DEFAULT_FROM", "kehu@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Complaints (客户投诉): "within N working days" by nature — general 1, major 3 — and at most 7 with
# an approved extension. The public form's complaints go to the service agent with the fewest open ones.
KEHU_COMPLAINT_SLA_DAYS = {"general": 1, "major": 3, "serious": 3}
KEHU_COMPLAINT_SLA_MAX_DAYS = 7
# Working days after the answer for the return visit and the summary (a separate follow-up deadline,
# reminded, never counted as an SLA breach).
KEHU_COMPLAINT_FOLLOWUP_DAYS = int(os.environ.get("KEHU_COMPLAINT_FOLLOWUP_DAYS", "3"))
# Service requests (咨询/报修/服务请求): "within N working days" per kind. Emergencies (紧急): first response
# within hours (clock hours), resolved within their working day of receipt; one level higher that many hours
# after the breach.
KEHU_SERVICE_SLA_DAYS = {"consultation": 1, "repair": 3, "service": 3}
KEHU_EMERGENCY_RESPONSE_HOURS = float(os.environ.get("KEHU_EMERGENCY_RESPONSE_HOURS", "2"))
KEHU_EMERGENCY_ESCALATION_HOURS = float(os.environ.get("KEHU_EMERGENCY_ESCALATION_HOURS", "1"))
# Scheduled inspections (巡检): default cycle in days per customer importance (grading will feed the
# importance; until then it is set on the plan), and how many days ahead the daily job opens visits.
KEHU_INSPECTION_CYCLE_DAYS = {"key": 30, "important": 90, "normal": 180}
KEHU_INSPECTION_HORIZON_DAYS = int(os.environ.get("KEHU_INSPECTION_HORIZON_DAYS", "14"))
# Customer import: upload limit, rows per committed batch, dry runs in the request up to this size
# (bigger ones in the worker), seconds without progress after which a running import counts as interrupted.
KEHU_IMPORT_MAX_BYTES = int(os.environ.get("KEHU_IMPORT_MAX_BYTES", str(200 * 1024 * 1024)))
KEHU_IMPORT_BATCH_ROWS = int(os.environ.get("KEHU_IMPORT_BATCH_ROWS", "2000"))
KEHU_IMPORT_INLINE_BYTES = int(os.environ.get("KEHU_IMPORT_INLINE_BYTES", str(1024 * 1024)))
KEHU_IMPORT_STALE_SECONDS = int(os.environ.get("KEHU_IMPORT_STALE_SECONDS", "300"))
# Uploaded files are kept (encrypted with KEHU_FIELD_KEYS) until their job is committed or cancelled, at most
# this many days for a job never committed (a daily task deletes them).
KEHU_IMPORT_FILE_RETENTION_DAYS = int(os.environ.get("KEHU_IMPORT_FILE_RETENTION_DAYS", "7"))
# Uploads stop being read at KEHU_IMPORT_MAX_BYTES (413); the whole body may add this much for the form.
KEHU_UPLOAD_FORM_OVERHEAD_BYTES = int(os.environ.get("KEHU_UPLOAD_FORM_OVERHEAD_BYTES", str(64 * 1024)))
FILE_UPLOAD_HANDLERS = [
    "kehu.imports.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Export cap (rows per file) and periodic review (定期复核).
KEHU_EXPORT_MAX_ROWS = int(os.environ.get("KEHU_EXPORT_MAX_ROWS", "100000"))
KEHU_REVIEW_STALE_MONTHS = int(os.environ.get("KEHU_REVIEW_STALE_MONTHS", "12"))
KEHU_REVIEW_DUE_WORKING_DAYS = int(os.environ.get("KEHU_REVIEW_DUE_WORKING_DAYS", "14"))
KEHU_REVIEW_SCHEDULE_MONTHS = int(os.environ.get("KEHU_REVIEW_SCHEDULE_MONTHS", "12"))  # 0 = off
KEHU_REVIEW_SCHEDULE_USER = os.environ.get("KEHU_REVIEW_SCHEDULE_USER", "")  # default: first active admin
# Grading (客户分级): regrade every active policy every N months (3 quarterly, 6 half-yearly; 0 = off), over
# customers in these lifecycle stages.
KEHU_GRADING_SCHEDULE_MONTHS = int(os.environ.get("KEHU_GRADING_SCHEDULE_MONTHS", "3"))
KEHU_GRADING_STAGES = tuple(os.environ.get("KEHU_GRADING_STAGES", "customer").split(","))
# Resource allocation (资源量分配, 004 第13篇 第三条(二), 第十条): classes served in this order (确保直销量、平衡独家
# 代理量、补充经销量); a short class is split by the weighted score of review result, plan completion rate
# over the look-back and weekly pickup regularity (the policy names the three, not their weights: these
# are the company's defaults, set again on each round); the unit shares are rounded to; the values taken
# when an input is unknown (a new participant); the review score comes from the latest grade under a
# scorecard policy (its 0–100 score), else the mean of the customer's hand scores, else the default.
KEHU_ALLOCATION = {
    "class_order": ["direct", "exclusive_agent", "dealer"],
    "weights": {"review": "0.40", "completion": "0.35", "regularity": "0.25"},
    "lookback_months": 3,
    "unit_t": "0.001",
    "default_review_score": "60",
    "default_completion": "0.5",
    "default_regularity": "0.5",
}
# Duplicates and merge (查重与合并)
KEHU_DEDUPE_NAME_THRESHOLD = float(os.environ.get("KEHU_DEDUPE_NAME_THRESHOLD", "90"))
KEHU_MERGE_UNDO_DAYS = int(os.environ.get("KEHU_MERGE_UNDO_DAYS", "30"))
KEHU_COMPLAINT_INTAKE_ROLE = "service_agent"
KEHU_PUBLIC_FORM_RATE = (5, 3600)
KEHU_SLA_SWEEP_MINUTES = int(os.environ.get("KEHU_SLA_SWEEP_MINUTES", "1"))  # at most 5 complaints per hour from one address

# Approvals (审批): a task pending this many hours reminds its assignee (again after as many hours);
# a step that finds nobody with its role in the requester's line asks the nearest business manager up
# the line (one of these roles; never an administrator), and "every manager up the line" steps ask
# one of them per level.
KEHU_APPROVAL_REMIND_HOURS = float(os.environ.get("KEHU_APPROVAL_REMIND_HOURS", "24"))
KEHU_APPROVAL_LINE_ROLES = tuple(
    r.strip() for r in os.environ.get("KEHU_APPROVAL_LINE_ROLES", "manager,executive").split(",") if r.strip())

# Workbench (工作台): to-dos due within this many hours are "soon" (orange); complaints, service requests
# and inspections appear as to-dos once due within KEHU_WORKBENCH_HORIZON_DAYS; the headline figures and
# charts (counts over the whole scope) are cached per user this many seconds (0 = not cached).
KEHU_WORKBENCH_SOON_HOURS = float(os.environ.get("KEHU_WORKBENCH_SOON_HOURS", "24"))
KEHU_WORKBENCH_HORIZON_DAYS = int(os.environ.get("KEHU_WORKBENCH_HORIZON_DAYS", "7"))
KEHU_WORKBENCH_CACHE_SECONDS = int(os.environ.get("KEHU_WORKBENCH_CACHE_SECONDS", "0" if TESTING else "300"))

# Customer symposia (客户座谈会, 004 第十三条): at least `min_held` held (with minutes when `require_minutes`)
# within `period_days`, else a warning on the planners' workbench; at most `max_invitees` per symposium.
KEHU_SYMPOSIA = {"min_held": 1, "period_days": 365, "require_minutes": True, "max_invitees": 300}
# Customer care (客户关怀): days of notice per occasion, the holidays greeted (names in the holiday table),
# the grades that are key accounts, the consent purposes that cover care contact (kehu/engagement/care).
KEHU_CARE = {
    "lead_days": {"birthday": 7, "anniversary": 7, "holiday": 14, "new_product": 0},
    "holidays": ["元旦", "春节", "端午", "中秋", "国庆"],
    "key_grades": ["三星", "二星"],
}
# The personal calendar's iCalendar feed covers these days around today.
KEHU_CALENDAR_FEED = {"days_back": 30, "days_ahead": 180}

# API paging.
KEHU_PAGE_SIZE_DEFAULT = 50
KEHU_PAGE_SIZE_MAX = 200
# The customer list counts exactly up to this many rows (a count reads at most this many + 1); beyond, an
# estimate (约 N, PostgreSQL, lists without a search) or the bound (超过 N).
KEHU_LIST_EXACT_COUNT_MAX = int(os.environ.get("KEHU_LIST_EXACT_COUNT_MAX", "1000"))
# A search (the list's q) counts exactly up to this many matches (at most KEHU_LIST_EXACT_COUNT_MAX), then 超过 N.
KEHU_SEARCH_EXACT_COUNT_MAX = int(os.environ.get("KEHU_SEARCH_EXACT_COUNT_MAX", "200"))

# Working days (kehu.workdays). "Within N working days" means, by default, by 24:00 Asia/Shanghai of
# the N-th working day after the day of receipt; a receipt on a non-working day counts as received at
# 00:00 of the next working day. count_from: "next_working_day" | "receipt_day" (count from the
# calendar day of receipt, even a holiday); due_at: "end_of_day" | "time_of_receipt" (the clock time
# of receipt on the last day); timezone: the zone whose days are counted.
KEHU_WORKDAY_SLA = {"count_from": "next_working_day", "due_at": "end_of_day", "timezone": "Asia/Shanghai"}
# Weekdays never worked unless a make-up day says so (0 = Monday … 6 = Sunday).
KEHU_WORKDAY_WEEKEND = [5, 6]
# Administrators see a warning once a year with no statutory schedule is this many days away (the
# State Council publishes the next year's schedule around November).
KEHU_WORKDAY_WARN_DAYS_AHEAD = int(os.environ.get("KEHU_WORKDAY_WARN_DAYS_AHEAD", "92"))

# Logs go to stderr; KEHU_LOG_FORMAT=json writes one JSON object per line (for Loki/ELK), each with the
# request id that the response carries in X-Request-ID. KEHU_ACCESS_LOG=1 logs one line per request.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kehu.ops.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "kehu.ops.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"],
                             "formatter": "json" if os.environ.get("KEHU_LOG_FORMAT") == "json" else "text"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEHU_LOG_LEVEL", "WARNING")},
    "loggers": {"kehu.requests": {"level": "INFO" if _env_bool("KEHU_ACCESS_LOG", False) else "WARNING"}},
}
# /metrics answers loopback, or anyone presenting this bearer token (Prometheus on another host).
KEHU_METRICS_TOKEN = os.environ.get("KEHU_METRICS_TOKEN", "")

# Visit plans and reports (客户走访, 004 第十一条): visits a year per grade when the grade's service policy
# gives no "visit every" (keyed by grade name) and for an ungraded customer; how many days around its
# date a recorded visit ticks a scheduled one; working days of grace before a visit is overdue; working
# days ahead to remind; which return visits need a leader's authorisation (004 第1篇 7: "key" = key
# accounts, i.e. a grade whose service policy names a dedicated manager or a grade listed here; "all";
# "none"); the report score's weights per scale; the suggestions' answer time and their topic → the
# department (path) concerned.
KEHU_VISITS = {
    "frequency_by_grade": {"A": 12, "B": 6, "C": 4, "D": 2},
    "default_per_year": 4,
    "match_window_days": 14,
    "overdue_grace_working_days": 0,
    "remind_working_days_before": 2,
    "return_visit_authorisation": "key",
    "key_account_grades": ["A", "三星", "二星"],
    "score_weights": {"quality": 1, "service": 1, "reputation": 1},
    "suggestion_answer_days": 10,
    "suggestion_routes": {"quality": "总部/质量部", "service": "总部/客服部", "delivery": "总部/物流部",
                          "price": "总部/销售部", "product": "总部/技术部"},
    "max_visits_per_customer": 52,
}

# ---------------------------------------------------------------- login abuse, tokens, sessions (issue 16)
# Client IP: X-Forwarded-For is believed only from these reverse proxies (CIDRs, e.g. "127.0.0.1/32,10.0.0.0/8").
KEHU_TRUSTED_PROXIES = _env_list("KEHU_TRUSTED_PROXIES")
# Login throttling (kehu.access.throttle), counted in the database before the password is checked:
# - one account from one client IP: the policy's lockout (KEHU_LOCKOUT_ATTEMPTS failures within
#   KEHU_LOCKOUT_WINDOW_MINUTES), for lock_minutes, doubling on each repeat up to max_lock_minutes;
# - one client IP, whatever the usernames: ip_attempts failures within the window;
# - one account from places it never logged in from (all of them together): account_attempts; an
#   address or browser that logged in as the account within known_days is not counted, so strangers
#   cannot lock the owner out. Repeats are forgotten after strikes_reset_hours without a block.
KEHU_LOGIN_THROTTLE = {
    "account_ip_attempts": KEHU_LOCKOUT_ATTEMPTS,
    "ip_attempts": int(os.environ.get("KEHU_LOGIN_IP_ATTEMPTS", "30")),
    "account_attempts": int(os.environ.get("KEHU_LOGIN_ACCOUNT_ATTEMPTS", "20")),
    "window_minutes": KEHU_LOCKOUT_WINDOW_MINUTES,
    "lock_minutes": KEHU_LOCKOUT_WINDOW_MINUTES,
    "max_lock_minutes": int(os.environ.get("KEHU_LOCKOUT_MAX_MINUTES", str(24 * 60))),
    "strikes_reset_hours": 24,
    "known_days": int(os.environ.get("KEHU_LOGIN_KNOWN_DAYS", "30")),
}
# API tokens expire this many days after they are issued; a user holds at most this many live tokens
# (POST /auth/token with the name of a live token replaces it instead of adding one).
KEHU_TOKEN_TTL_DAYS = int(os.environ.get("KEHU_TOKEN_TTL_DAYS", "30"))
KEHU_TOKEN_MAX_PER_USER = int(os.environ.get("KEHU_TOKEN_MAX_PER_USER", "10"))
# A session ends this many hours after its login however active it is (besides the idle timeout).
KEHU_SESSION_MAX_HOURS = float(os.environ.get("KEHU_SESSION_MAX_HOURS", "12"))

# Content Security Policy (django-csp): scripts only from our own origin (the vendored htmx, Tabler and
# ECharts and each app's static/*.js) or inline with the request's nonce ({{ CSP_NONCE }}); no inline
# event handlers (confirmations use data-confirm in kehu.js). Inline style attributes remain allowed
# (templates size bars and charts with style="..."; ECharts and htmx set styles). Nothing may frame us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Follow-ups (跟进记录): a recorder or the account manager may correct a follow-up this many hours after
# recording it (a manager over the customer at any time); "when" may be ahead of the server's clock by
# this many minutes (a phone's clock); next steps show on the workbench this many days before they are
# due; attachments (photos from a phone, PDF) up to this size, of these types (sniffed from the content),
# this many per follow-up.
KEHU_ENGAGEMENT = {
    "edit_window_hours": int(os.environ.get("KEHU_FOLLOWUP_EDIT_WINDOW_HOURS", "72")),
    "future_skew_minutes": 10,
    "remind_days_ahead": int(os.environ.get("KEHU_FOLLOWUP_REMIND_DAYS", "3")),
    "attachment_max_bytes": int(os.environ.get("KEHU_FOLLOWUP_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
    "attachment_types": ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"],
    "attachments_per_interaction": 10,
}
# Admission (准入, seed 004 第13篇 第七、八、十五条): a new company customer starts pending (待准入) until its
# account-opening application (开户审批) is approved — off, companies register active as persons do. Papers in
# force that expire suspend the customer at midnight Asia/Shanghai; owners (and consenting contacts) are reminded
# this many days ahead; scans up to this size, of these types (sniffed from the content).
KEHU_ACCOUNT_OPENING_REQUIRED = _env_bool("KEHU_ACCOUNT_OPENING_REQUIRED", True)
KEHU_QUALIFICATION = {
    "remind_days": int(os.environ.get("KEHU_QUALIFICATION_REMIND_DAYS", "30")),
    "file_max_bytes": int(os.environ.get("KEHU_QUALIFICATION_FILE_MAX_BYTES", str(10 * 1024 * 1024))),
    "file_types": ["image/jpeg", "image/png", "application/pdf"],
    "notify_roles": ["finance"],
    "consent_purposes": ["通知", "资质", "联系", "notice", "contact"],
    # from this day of the month, exclusive agents without next month's sales plan are their owner's to-do
    "plan_reminder_day": 20,
}
# Grading (客户经理制, 000 2.2): a grade whose service policy requires a dedicated account manager is served
# when the customer's owner is an active user of one of these roles; the others are the department's to-do.
KEHU_GRADING_DEDICATED_ROLES = ("account_manager",)

# Idempotent creates (Idempotency-Key header): how long a key's answer is kept, and after how long a
# request that never answered (a crashed worker) stops blocking its retries.
KEHU_IDEMPOTENCY = {
    "ttl_hours": float(os.environ.get("KEHU_IDEMPOTENCY_TTL_HOURS", "24")),
    "in_progress_seconds": int(os.environ.get("KEHU_IDEMPOTENCY_IN_PROGRESS_SECONDS", "120")),
}
# How long the list of fields each record version changed is kept (told to a writer whose version is stale).
KEHU_VERSION_STAMP_DAYS = int(os.environ.get("KEHU_VERSION_STAMP_DAYS", "30"))

# Registration and ownership (客户登记 / 报备, 公海; seed 004): how long a registration protects the rep, whether
# a recorded follow-up renews it, when an untended customer returns to the pool, and the pool's claim limits.
KEHU_OWNERSHIP = {
    "valid_months": int(os.environ.get("KEHU_REGISTRATION_VALID_MONTHS", "1")),
    "renew_on_followup": _env_bool("KEHU_REGISTRATION_RENEW_ON_FOLLOWUP", True),
    "idle_days": int(os.environ.get("KEHU_POOL_IDLE_DAYS", "30")),
    "idle_stages": tuple(_env_list("KEHU_POOL_IDLE_STAGES", "prospect,intent")),
    "daily_claim_limit": int(os.environ.get("KEHU_POOL_DAILY_CLAIM_LIMIT", "5")),
    "max_held": int(os.environ.get("KEHU_POOL_MAX_HELD", "300")),
    "pool_username": os.environ.get("KEHU_POOL_USERNAME", "kehu-pool"),
    "dispute_level_hours": int(os.environ.get("KEHU_DISPUTE_LEVEL_HOURS", "48")),
    "lapsing_days": 3,
}
