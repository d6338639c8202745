"""`attt demo` part: the real public samples of ../shared/testdata (NVD and CVE 5 records, the CISA KEV
catalogue) when present, matched against the demo registry so owners see warnings."""

import os
from pathlib import Path

import attt
from attt.core import demo
from attt.vulns import services


def testdata_dir() -> Path:
    default = Path(attt.__file__).resolve().parents[3] / "shared" / "testdata"
    return Path(os.environ.get("ATTT_TESTDATA_DIR") or default)


@demo.register("vulns", order=40)
def load(ctx: demo.DemoContext) -> dict:
    folder = testdata_dir()
    feeds = [p for p in (folder / "nvd", folder / "kev" / "known_exploited_vulnerabilities.json") if p.exists()]
    if not feeds:
        ctx.stdout.write(f"vulns: no public samples under {folder}; the early-warning demo stays empty.")
        return {"feeds": 0}
    ctx.progress("vulns: import and match")
    reports = services.import_paths(feeds, match=True, notify=False)
    return {
        "files": len(reports),
        "records": sum(r.created + r.updated for r in reports),
        "kev": sum(r.kev_changed for r in reports),
        "warnings": sum(r.warnings_created for r in reports),
    }
