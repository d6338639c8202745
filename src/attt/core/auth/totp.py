"""Time-based one-time passwords (RFC 6238) as the optional second factor."""

import datetime
import hmac
import time

import pyotp
import segno


def new_secret() -> str:
    return pyotp.random_base32()


def matching_step(secret: str, code: str, *, after: int = -1) -> int | None:
    """The time step (30 s window) whose code this is, within one step of now; None if none.

    Steps at or before `after` (the last step the user already used) are refused, so a code seen
    once, over a shoulder or in a log, cannot be replayed within its window.
    """
    code = (code or "").strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time())
    for offset in (-1, 0, 1):
        moment = now + offset * totp.interval
        step = totp.timecode(datetime.datetime.fromtimestamp(moment, tz=datetime.UTC))
        if step > after and hmac.compare_digest(totp.at(moment), code):
            return step
    return None


def consume(user, code: str) -> bool:
    """Accept the user's code once. The step is claimed by a conditional update, so of two requests racing with
    one code only one wins (each would otherwise read the last used step before the other wrote it)."""
    from attt.core import audit

    step = matching_step(user.totp_secret, code, after=user.totp_last_step)
    if step is None:
        return False
    audit.lock_chain()  # before the row lock: the log-in that follows is audited (docs/architecture.md)
    claimed = type(user).objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    user.totp_last_step = step
    return claimed == 1


def verify(secret: str, code: str) -> bool:
    return matching_step(secret, code) is not None


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="attt")


def qr_svg(uri: str) -> str:
    """An inline SVG of the QR code (no image request, nothing for the CSP to allow)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
