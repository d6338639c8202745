"""attt: the national information-security management platform (an toàn thông tin)."""

__version__ = "0.1.0"
