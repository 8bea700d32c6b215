"""Small helpers for the security tests: sign in through the real form, compute TOTP codes."""

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/login/", {"username": email, "password": password}, **extra)


def totp_code(device: TOTPDevice, offset: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, offset):06d}"


def enroll(user) -> TOTPDevice:
    """A confirmed TOTP device, as if the user had enrolled."""
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def clear_cache() -> None:
    """Forget this run's cached counters only: other runs may share the Redis database
    (cache.clear() would flush theirs too)."""
    from django.conf import settings
    from django.core.cache import cache

    if "redis" not in settings.CACHES["default"]["BACKEND"]:
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
