"""`attt demo` part: event sources for the national monitoring centre, Hà Nội, Tuyên Quang and a few ministries,
each with a seeded replay of firewall (CEF), web-gateway (NDJSON) and Sysmon (EVTX-JSON) events."""

import datetime as dt
import random

import orjson

from attt.core import demo
from attt.core.models import Organization
from attt.monitoring import services
from attt.monitoring.models import LogFormat, Source
from attt.monitoring.parsers import device_zone

SOURCES = [
    ("ttgs-quoc-gia", "Cảm biến mạng trục quốc gia", LogFormat.CEF, 5),
    ("ttgs-quoc-gia", "Cổng thu nhận nhật ký các SOC", LogFormat.NDJSON, 10),
    ("ha-noi-ttcntt", "Tường lửa Trung tâm dữ liệu Hà Nội", LogFormat.CEF, 5),
    ("ha-noi-ttcntt", "Sysmon máy chủ Cổng dịch vụ công Hà Nội", LogFormat.NDJSON, 15),
    ("tuyen-quang-ttcntt", "Tường lửa Trung tâm CNTT Tuyên Quang", LogFormat.CEF, 15),
    ("btc-cuc-cntt", "SOC Bộ Tài chính", LogFormat.NDJSON, 10),
    ("byt-cntt", "Cảm biến IDS Bộ Y tế", LogFormat.CEF, 30),
]


def _cef_lines(rng: random.Random, now: dt.datetime, n: int) -> bytes:
    lines = []
    for i in range(n):
        at = (now - dt.timedelta(seconds=n - i)).astimezone(device_zone())  # as the device's clock says it
        stamp = f"{at:%b} {at.day:2d} {at:%H:%M:%S}"  # RFC 3164: the day padded with a space, the hour with a zero
        src = f"203.113.{rng.randint(1, 254)}.{rng.randint(1, 254)}"
        dst = f"10.{rng.randint(1, 20)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        act = rng.choice(["allow", "deny", "deny", "alert"])
        lines.append(
            f"<134>{stamp} fw-dc01 CEF:0|Fortinet|FortiGate|7.2|0000000013|traffic {act}|"
            f"{3 if act == 'allow' else 6}|src={src} dst={dst} spt={rng.randint(1024, 65000)} "
            f"dpt={rng.choice([80, 443, 22, 3389])} proto=TCP act={act}"
        )
    return "\n".join(lines).encode()


def _json_lines(rng: random.Random, now: dt.datetime, n: int) -> bytes:
    hosts = ["dvc-web01", "dvc-app02", "mail-gw", "vpn-gw"]
    lines = []
    for i in range(n):
        lines.append(
            orjson.dumps(
                {
                    "@timestamp": (now - dt.timedelta(seconds=n - i)).isoformat(),
                    "event": {"category": ["network"], "action": rng.choice(["http-request", "dns-query", "login"])},
                    "host": {"name": rng.choice(hosts)},
                    "source": {"ip": f"113.160.{rng.randint(1, 254)}.{rng.randint(1, 254)}"},
                    "url": {"original": "https://dichvucong.example.gov.vn/" + rng.choice(["dang-nhap", "tra-cuu"])},
                    "user_agent": {"original": "Mozilla/5.0"},
                }
            )
        )
    return b"\n".join(lines)


@demo.register("monitoring", order=60)
def load(ctx: demo.DemoContext) -> dict:
    ctx.progress("monitoring: sources and replayed events")
    now = dt.datetime.now(dt.UTC)
    created = events = 0
    for code, name, log_format, interval in SOURCES:
        org = Organization.objects.filter(code=code).first()
        if org is None:
            continue
        source = Source(organization=org, name=name, log_format=log_format, expected_interval_minutes=interval)
        source.new_token()
        source.save()
        created += 1
        if name.startswith("Cảm biến IDS"):
            continue  # left silent on purpose: the live page shows a silent source
        n = int(200 * ctx.scale) or 20
        data = _cef_lines(ctx.rng, now, n) if log_format == LogFormat.CEF else _json_lines(ctx.rng, now, n)
        events += services.accept(source, data + b"\nnot a valid line")["accepted"]
    return {"sources": created, "events": events}
