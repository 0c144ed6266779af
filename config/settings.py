"""Settings for every process (web, Celery, workers), read from the environment."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.database import DatabaseRoles
from config.env import env_bool, env_int, env_list, env_str
from config.secrets import SecretsError, load_secrets

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SWITCHBOARD_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# Only a developer's machine (the test settings) may run with a weak DJANGO_SECRET_KEY; see config/secrets.py.
IS_DEVELOPMENT = env_str("SWITCHBOARD_ENV", "production") == "development"
try:
    SECRETS = load_secrets(DATA_DIR, os.environ, development=IS_DEVELOPMENT)
except SecretsError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
SECRET_KEY = SECRETS.secret_key
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Field encryption keys as "version:base64key" pairs, newest first; see core/crypto.py.
FIELD_ENCRYPTION_KEYS = list(SECRETS.field_keys)
# Only while upgrading a database from before secrets.json: the SECRET_KEY it ran with, so that
# `manage.py rotate_field_keys` can read its values once (docs/setup.md). Never encrypts.
LEGACY_SECRET_KEY = env_str("SWITCHBOARD_LEGACY_SECRET_KEY", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "tenants",
    "compliance",
    "monitor",
    "numbering",
    "voice",
    "messaging",
    # Above messaging, in layer order: receivers of one signal run in this order, so the contact
    # center finds an inbound text already in its conversation.
    "conversations",
    "contactcenter",
    "contactcenter.taskrouter",
    "streams",
    "ai",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.TwilioRequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.TenantMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.portal",
            ],
        },
    },
]

DB_NAME = env_str("SWITCHBOARD_DB_NAME", "switchboard")
DATABASE_ROLES = DatabaseRoles(
    admin_url=env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/switchboard"),
    name=DB_NAME,
    # Roles belong to the server, not to a database: each database gets its own pair, so checkouts
    # with secrets of their own, on databases of their own, never reset each other's passwords.
    owner=env_str("SWITCHBOARD_DB_OWNER", f"{DB_NAME}_owner"),
    app=env_str("SWITCHBOARD_DB_APP", f"{DB_NAME}_app"),
    owner_password=SECRETS.owner_password,
    app_password=SECRETS.app_password,
)
DATABASES = {
    "default": DATABASE_ROLES.django_config(DATABASE_ROLES.app, pool_size=env_int("DB_POOL_SIZE", 10)),
    "owner": DATABASE_ROLES.django_config(DATABASE_ROLES.owner),
    # Operator tasks that must cross tenants (key rotation, verifying every chain); never the web or workers.
    "admin": DATABASE_ROLES.django_config(None),
}
DATABASE_ROUTERS: list[str] = []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
# A consumer waits on its channel with 5 s BZPOPMINs; redis-py 8 gives every read a 5 s socket timeout
# by default, which then fired first and killed idle consumers (their sockets closed 1006 every ~5 s).
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]},
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = False  # per task: only idempotent tasks ack late
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes the connection pool around every task in a prefork worker unless this
# is set; config/celery.py returns the connections to the pool instead.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_DEFAULT_QUEUE = "celery"  # what the Procfile's worker consumes; tests and benches use their own
# A bulk alert's hand-over tasks (and the work queued behind them) wait in a queue of their own, which a
# worker reads in turn with the default one: a text sent during an alert then waits behind one of the
# alert's tasks at most, not behind all of them (messaging/bulk/services.py).
CELERY_BULK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-bulk"
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(CELERY_BULK_QUEUE)]  # a worker's, unless -Q
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Task modules besides each app's tasks.py (which the worker discovers): see each module's docstring.
CELERY_IMPORTS = ["messaging.webhook_tasks"]

AUTH_USER_MODEL = "tenants.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# An agent whose every console closed (browser closed, network gone) goes offline after this long,
# unless a console opens again (contactcenter/console_sessions.py); a reload takes a second.
CONSOLE_OFFLINE_GRACE_SECONDS = env_int("CONSOLE_OFFLINE_GRACE_SECONDS", 30)
SESSION_COOKIE_AGE = 15 * 60  # automatic logoff after 15 minutes idle (HIPAA, PCI 8.2.8)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
OTP_TOTP_ISSUER = "Switchboard"
# Password resets and invitations. The console backend prints them (development); set
# DJANGO_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST etc. to send them.
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("SWITCHBOARD_FROM_EMAIL", "Switchboard <no-reply@localhost>")
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600  # a reset link works once, for three days

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "node_modules" / "htmx.org" / "dist"]
# Serve straight from the app and node_modules folders, so a fresh checkout needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

# Pages run only what the app serves: its own scripts and styles (no inline ones), images and
# websockets; nothing from another origin, and no framing. The API docs page has its own (core/schema.py).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Twilio rejects request bodies over 64 KiB for most resources; we refuse larger ones early.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SWITCHBOARD_MAX_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
# API routes that take bigger bodies (path prefix -> bytes): a bulk alert's list of up to 100,000 numbers.
API_BODY_LIMITS = {"/api/v1/bulks": env_int("SWITCHBOARD_MAX_BULK_BODY_BYTES", 4 * 1024 * 1024)}

RECORDINGS_DIR = Path(env_str("SWITCHBOARD_RECORDINGS_DIR", str(DATA_DIR / "recordings")))
PUBLIC_BASE_URL = env_str("SWITCHBOARD_PUBLIC_URL", "http://127.0.0.1:8000")

# Browser softphones (docs/softphone.md): the media server they register with, the WSS certificate
# its Asterisk presents (PEM files; unset: a self-signed one for development), and the websocket URL
# browsers use when a proxy stands in front (unset: wss://<sip_host>:<wss_port>/ws of that server).
SOFTPHONE_MEDIA_SERVER = env_str("SWITCHBOARD_SOFTPHONE_MEDIA_SERVER", "local")
# Seconds without media from a browser in a call before Asterisk ends its leg (the browser closed,
# crashed or lost its network; the caller is then re-queued per the workspace's agent_lost_action).
# Chrome sends a packet every 20 ms while a call is up, muted too, so 30 s leaves room for a network
# that stalls for a few seconds and recovers.
SOFTPHONE_RTP_TIMEOUT_SECONDS = env_int("SWITCHBOARD_SOFTPHONE_RTP_TIMEOUT", 30)
WEBRTC_CERT_FILE = env_str("SWITCHBOARD_WEBRTC_CERT_FILE", "")
WEBRTC_KEY_FILE = env_str("SWITCHBOARD_WEBRTC_KEY_FILE", "")
WEBRTC_WS_URL = env_str("SWITCHBOARD_WEBRTC_WS_URL", "")
API_RATE_PER_SECOND = env_int("SWITCHBOARD_API_RATE_PER_SECOND", 100)
# Inbound calls one ARI worker runs at once; more are refused with SIP 503 (see bench/RESULTS.md).
VOICE_MAX_INBOUND_CALLS_PER_WORKER = env_int("SWITCHBOARD_MAX_INBOUND_CALLS", 300)
# The media bridge (`manage.py media_bridge`, streams/bridge): the address Asterisk's AudioSocket
# connections reach it on, announced in Redis; port 0 takes any free port, so a node may run several.
STREAMS_BRIDGE_HOST = env_str("SWITCHBOARD_BRIDGE_HOST", "127.0.0.1")
STREAMS_BRIDGE_PORT = env_int("SWITCHBOARD_BRIDGE_PORT", 0)
# How long a tenant's app has to finish a stream's websocket upgrade (then 31901, stream-error).
STREAMS_CONNECT_TIMEOUT_SECONDS = env_int("SWITCHBOARD_STREAM_CONNECT_TIMEOUT", 5)
# ConversationRelay (docs/agents.md): the speech relay process (`manage.py speech_relay`) the media
# bridge streams a relayed call to, and the built-in agents' websocket (an app on the platform's own
# ConversationRelay); URLs under either are the platform's own and pass the destination policy.
SPEECH_RELAY_URL = env_str("SWITCHBOARD_SPEECH_RELAY_URL", "ws://127.0.0.1:8765/relay")
AGENTS_WS_URL = env_str("SWITCHBOARD_AGENTS_WS_URL", "ws://127.0.0.1:8000/ws/agents/")
WEBHOOK_MAX_ATTEMPTS = env_int("SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS", 6)
# Speech for ConversationRelay and the agents (ai/speech/registry.py). The offline engines need
# nothing; a provider's adapter needs its key. The URLs are the providers' own, overridable for a
# proxy (and for the tests' local servers that speak each provider's protocol).
SPEECH_TTS_PROVIDER = env_str("SWITCHBOARD_SPEECH_TTS_PROVIDER", "espeak")
SPEECH_STT_PROVIDER = env_str("SWITCHBOARD_SPEECH_STT_PROVIDER", "pocketsphinx")
SPEECH_VAD = env_str("SWITCHBOARD_SPEECH_VAD", "silero")  # or "energy"
SPEECH_END_OF_TURN_MS = env_int("SWITCHBOARD_SPEECH_END_OF_TURN_MS", 450)  # silence that ends a turn
SPEECH_DEEPGRAM_API_KEY = env_str("SWITCHBOARD_SPEECH_DEEPGRAM_API_KEY", "")
SPEECH_DEEPGRAM_URL = env_str("SWITCHBOARD_SPEECH_DEEPGRAM_URL", "wss://api.deepgram.com/v1/listen")
SPEECH_DEEPGRAM_MODEL = env_str("SWITCHBOARD_SPEECH_DEEPGRAM_MODEL", "nova-3")
SPEECH_OPENAI_API_KEY = env_str("SWITCHBOARD_SPEECH_OPENAI_API_KEY", "")
SPEECH_OPENAI_URL = env_str("SWITCHBOARD_SPEECH_OPENAI_URL", "https://api.openai.com/v1/audio/speech")
SPEECH_OPENAI_MODEL = env_str("SWITCHBOARD_SPEECH_OPENAI_MODEL", "gpt-4o-mini-tts")
SPEECH_OPENAI_VOICE = env_str("SWITCHBOARD_SPEECH_OPENAI_VOICE", "alloy")  # when a call names none of them
SPEECH_OPENAI_STT_URL = env_str(
    "SWITCHBOARD_SPEECH_OPENAI_STT_URL", "https://api.openai.com/v1/audio/transcriptions"
)
SPEECH_OPENAI_STT_MODEL = env_str("SWITCHBOARD_SPEECH_OPENAI_STT_MODEL", "gpt-4o-transcribe")
SPEECH_ELEVENLABS_API_KEY = env_str("SWITCHBOARD_SPEECH_ELEVENLABS_API_KEY", "")
SPEECH_ELEVENLABS_URL = env_str("SWITCHBOARD_SPEECH_ELEVENLABS_URL", "https://api.elevenlabs.io")
SPEECH_ELEVENLABS_MODEL = env_str("SWITCHBOARD_SPEECH_ELEVENLABS_MODEL", "eleven_flash_v2_5")
SPEECH_ELEVENLABS_VOICE = env_str("SWITCHBOARD_SPEECH_ELEVENLABS_VOICE", "JBFqnCBsd6RMkjVDRZzb")  # a voice ID
SPEECH_GOOGLE_API_KEY = env_str("SWITCHBOARD_SPEECH_GOOGLE_API_KEY", "")
SPEECH_GOOGLE_TTS_URL = env_str(
    "SWITCHBOARD_SPEECH_GOOGLE_TTS_URL", "https://texttospeech.googleapis.com/v1/text:synthesize"
)
SPEECH_GOOGLE_STT_URL = env_str(
    "SWITCHBOARD_SPEECH_GOOGLE_STT_URL", "https://speech.googleapis.com/v1/speech:recognize"
)
SPEECH_GOOGLE_STT_MODEL = env_str(
    "SWITCHBOARD_SPEECH_GOOGLE_STT_MODEL", "telephony"
)  # blank: Google's default
SPEECH_AWS_ACCESS_KEY_ID = env_str("SWITCHBOARD_SPEECH_AWS_ACCESS_KEY_ID", "")
SPEECH_AWS_SECRET_ACCESS_KEY = env_str("SWITCHBOARD_SPEECH_AWS_SECRET_ACCESS_KEY", "")
SPEECH_AWS_REGION = env_str("SWITCHBOARD_SPEECH_AWS_REGION", "us-east-1")
SPEECH_POLLY_URL = env_str("SWITCHBOARD_SPEECH_POLLY_URL", "")  # blank: https://polly.{region}.amazonaws.com
SPEECH_POLLY_VOICE = env_str("SWITCHBOARD_SPEECH_POLLY_VOICE", "Joanna")
# blank: wss://transcribestreaming.{region}.amazonaws.com:8443
SPEECH_TRANSCRIBE_URL = env_str("SWITCHBOARD_SPEECH_TRANSCRIBE_URL", "")
# Where tenant-chosen URLs and SIP addresses may reach beyond the public internet (core/egress.py):
# networks or address:port pairs. None by default; scripts/run admits the demo apps on loopback.
EGRESS_ALLOW = env_list("SWITCHBOARD_EGRESS_ALLOW", [])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.auth.TwilioBasicAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictFormParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.AccountRateThrottle"],
    "EXCEPTION_HANDLER": "core.errors.twilio_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Twilio-compatible REST API (2010-04-01) served by Switchboard.",
    "VERSION": "2010-04-01",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "HttpMethodEnum": ["GET", "POST"],
        "AccountStatusEnum": "tenants.models.Account.Status",
        "BulkStatusEnum": "messaging.models.Bulk.Status",
        "QueueOrderEnum": "contactcenter.taskrouter.models.Workspace.QueueOrder",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.pascal_case_requests",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
