"""What the platform-report fixture generators share (make_fixture.py of douyin_reception,
feige_agent_performance, jd_service_workload, kuaishou_assessment, sycm_agent_performance): Chinese durations,
number text for truth.csv, and a workbook's zip made independent of the time it was saved. Stdlib only."""

import io
import re
import zipfile
from pathlib import Path

__all__ = ["seconds", "fmt", "normalise_zip"]


def seconds(text: str) -> float:
    """'8小时12分5秒' / '2分30秒' / '18秒' / '20分' → seconds."""
    match = re.fullmatch(r"(?:(\d+(?:\.\d+)?)小时)?(?:(\d+(?:\.\d+)?)分)?(?:(\d+(?:\.\d+)?)秒)?", text.strip())
    if not match or not any(match.groups()):
        raise ValueError(text)
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return h * 3600 + m * 60 + s


def fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def normalise_zip(path: Path) -> None:
    """Rewrite the package with fixed member timestamps so the bytes do not depend on 'now'."""
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 10, 9, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-10T09:00:00Z", data)
            dst.writestr(fixed, data)
    path.write_bytes(buf.getvalue())
