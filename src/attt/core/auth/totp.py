"""Time-based one-time passwords (RFC 6238) as the optional second factor."""

import pyotp
import segno


def new_secret() -> str:
    return pyotp.random_base32()


def verify(secret: str, code: str) -> bool:
    code = (code or "").strip().replace(" ", "")
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    return pyotp.TOTP(secret).verify(code, valid_window=1)


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="attt")


def qr_svg(uri: str) -> str:
    """An inline SVG of the QR code (no image request, nothing for the CSP to allow)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#111", light="#fff")
