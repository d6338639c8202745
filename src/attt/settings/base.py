"""Settings shared by every deployment. Values that differ between deployments come from ATTT_* variables."""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The folder holding the checkout (node_modules, .venv) when run from the repository.
PROJECT_DIR = Path(os.environ.get("ATTT_PROJECT_DIR", PACKAGE_DIR.parent.parent))
DATA_DIR = Path(os.environ.get("ATTT_DATA_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("ATTT_SECRET_KEY", "")
DEBUG = env_bool("ATTT_DEBUG")
ALLOWED_HOSTS = env_list("ATTT_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("ATTT_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "attt.core",
    "attt.regulation",
    "attt.registry",
    "attt.compliance",
    "attt.plans",
    "attt.vulns",
    "attt.intel",
    "attt.incidents",
    "attt.monitoring",
    "attt.detection",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "attt.core.middleware.LanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "attt.core.middleware.RequestContextMiddleware",
    "attt.core.middleware.AtomicWritesMiddleware",
]

ROOT_URLCONF = "attt.urls"
WSGI_APPLICATION = "attt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "attt.core.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# Embedded default: one SQLite file under the data folder. ATTT_DATABASE_URL selects PostgreSQL.
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("ATTT_DATABASE_URL", f"sqlite:///{DATA_DIR / 'attt.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so concurrent writers (web + workers) wait instead of
    # failing with "database is locked"; WAL lets readers go on while one process writes.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failed log-ins (per user name, and per client address).
ATTT_LOGIN_MAX_FAILURES = int(os.environ.get("ATTT_LOGIN_MAX_FAILURES", "5"))
ATTT_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("ATTT_LOGIN_MAX_FAILURES_PER_IP", "30"))
ATTT_LOGIN_LOCKOUT_MINUTES = int(os.environ.get("ATTT_LOGIN_LOCKOUT_MINUTES", "15"))
# A browser a person logged in from keeps a signed device cookie: its failures count apart, so an attacker's
# wrong passwords for the name do not lock the person out (core.auth.lockout).
ATTT_DEVICE_COOKIE_NAME = "attt_device"
ATTT_DEVICE_COOKIE_DAYS = int(os.environ.get("ATTT_DEVICE_COOKIE_DAYS", "180"))
ATTT_API_TOKEN_DAYS = int(os.environ.get("ATTT_API_TOKEN_DAYS", "90"))
# Reverse proxies in front of the platform, each appending the address it saw to X-Forwarded-For: `true` is one,
# a number says how many (0/false: none, the header is ignored). Entries left of theirs are the client's own words.
_proxies = os.environ.get("ATTT_TRUST_X_FORWARDED_FOR", "").strip().lower()
ATTT_TRUST_X_FORWARDED_FOR = int(_proxies) if _proxies.isdigit() else int(env_bool("ATTT_TRUST_X_FORWARDED_FOR"))
# Who answers for the TAXII server (an address or a desk), shown in its discovery document.
ATTT_TAXII_CONTACT = os.environ.get("ATTT_TAXII_CONTACT", "")

# OIDC single sign-on, off unless ATTT_OIDC_ENABLED is set.
OIDC_ENABLED = env_bool("ATTT_OIDC_ENABLED")
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("attt.core.auth.oidc.OrganisationOIDCBackend")
    OIDC_RP_CLIENT_ID = os.environ["ATTT_OIDC_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = os.environ["ATTT_OIDC_CLIENT_SECRET"]
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ["ATTT_OIDC_AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = os.environ["ATTT_OIDC_TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = os.environ["ATTT_OIDC_USER_ENDPOINT"]
    OIDC_OP_ISSUER = os.environ["ATTT_OIDC_ISSUER"]  # the `iss` its ID tokens must carry (its discovery document's)
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("ATTT_OIDC_JWKS_ENDPOINT") or None  # unset: the library's start-up check
    OIDC_RP_SIGN_ALGO = os.environ.get("ATTT_OIDC_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = "openid email profile"

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "core" / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
FORMAT_MODULE_PATH = ["attt.formats"]  # compact dates for tables (attt/formats/<language>/formats.py)
USE_TZ = True
LANGUAGE_COOKIE_NAME = "attt_language"

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
NODE_MODULES = Path(os.environ.get("ATTT_NODE_MODULES", PROJECT_DIR / "node_modules"))
# Front-end libraries come from the npm registry at set-up (package.json); none is committed.
STATICFILES_DIRS = [
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security headers -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "attt.core.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["attt.core.api.permissions.ScopedPermission"],
    "DEFAULT_PAGINATION_CLASS": "attt.core.api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "attt.core.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "attt.core.api.schema.ProblemAutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute", "user": "6000/minute"},
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "attt API",
    "DESCRIPTION": "REST API of the attt national information-security platform. "
    "Errors are application/problem+json (RFC 9457).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Choice sets of different models that share a field name ("kind", "state") get distinct names.
    "ENUM_NAME_OVERRIDES": {
        "OrganizationKindEnum": "attt.core.models.organizations.OrganizationKind",
        "AuditActionEnum": "attt.core.models.AuditEvent.Action",
        "NotificationLevelEnum": "attt.core.models.Notification.Level",
        "ComponentKindEnum": "attt.registry.models.Component.Kind",
        "ContactRoleEnum": "attt.registry.models.Contact.Role",
        "DossierStateEnum": "attt.compliance.models.DossierState",
        "DossierKindEnum": "attt.compliance.models.LevelDossier.Kind",
        "AttachmentKindEnum": "attt.compliance.models.Attachment.Kind",
        "ChecklistStatusEnum": "attt.compliance.models.ChecklistStatus",
        "PeriodicCheckKindEnum": "attt.compliance.models.PeriodicCheck.Kind",
        "InspectionStateEnum": "attt.compliance.models.Inspection.State",
        "FindingSeverityEnum": "attt.compliance.models.Finding.Severity",
        "FindingStateEnum": "attt.compliance.models.Finding.State",
        "StatusReportKindEnum": "attt.compliance.models.StatusReport.Kind",
        "StatusReportStateEnum": "attt.compliance.models.StatusReport.State",
        "PlanStatusEnum": "attt.plans.models.Status",
    },
}

# --- Cache -------------------------------------------------------------------------------------------
# Files under the data directory: shared by every process of the machine (the gunicorn workers, the job worker), so
# the API's rate limits and the dashboards' cached figures hold across them rather than once per worker. Log-in
# lock-out and the public forms' limits count in the database. Several web machines each keep their own.
CACHES = {
    "default": {
        "BACKEND": "attt.core.cache.FileCache",
        "LOCATION": str(DATA_DIR / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}

# --- Mail -----------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("ATTT_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("ATTT_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("ATTT_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("ATTT_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ATTT_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ATTT_EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("ATTT_EMAIL_FROM", "attt@localhost")

# --- Background jobs (django-q2, ORM broker: the same database, SQLite or PostgreSQL) -----------
Q_CLUSTER = {
    "name": "attt",
    "orm": "default",
    "workers": int(os.environ.get("ATTT_WORKERS", "2")),
    "timeout": 600,
    "retry": 900,
    "max_attempts": 3,
    "catch_up": False,
    "label": _("Background jobs"),
}

# --- Early warning feeds: "name=URL-or-path" pairs, comma-separated (local paths work air-gapped) -----
VULNS_FEEDS = dict(item.split("=", 1) for item in env_list("ATTT_VULNS_FEEDS") if "=" in item)
VULNS_ALLOWED_HOSTS = env_list("ATTT_VULNS_ALLOWED_HOSTS")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ATTT_LOG_LEVEL", "INFO")},
    "loggers": {"django-q": {"level": "WARNING"}},  # django-q2 logs every enqueued job at INFO
}
