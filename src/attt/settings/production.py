"""For a real deployment behind TLS. Refuses to start without ATTT_SECRET_KEY."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool

if not SECRET_KEY or len(SECRET_KEY) < 50:  # noqa: F405
    raise ImproperlyConfigured("Set ATTT_SECRET_KEY to a random string of at least 50 characters.")
DEBUG = False
SECURE_SSL_REDIRECT = env_bool("ATTT_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# __Host- cookies are refused by browsers unless Secure, for this host only and path /: a sibling subdomain cannot
# plant a session or CSRF cookie for the platform.
SESSION_COOKIE_NAME = "__Host-attt_session"
CSRF_COOKIE_NAME = "__Host-csrftoken"
ATTT_DEVICE_COOKIE_NAME = "__Host-attt_device"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
