"""One Chromium prints at a time in a process (six 周报 PDF clicks in six tabs started six at once and
held everyone's downloads for 15 s); a print that cannot start in time is refused with the reason."""

from __future__ import annotations

import threading
import time

import pytest

from insight.core.errors import UsageError
from insight.present import pdf


def test_prints_take_turns_and_a_late_one_is_refused(monkeypatch):
    running, most = [0], [0]
    lock = threading.Lock()

    def fake_print(html_text, timeout):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1
        return b"%PDF-1.4"
    monkeypatch.setattr(pdf, "_print", fake_print)
    results = []
    threads = [threading.Thread(target=lambda: results.append(pdf.html_to_pdf("<p>x</p>"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"%PDF-1.4"] * 3 and most[0] == 1
    monkeypatch.setattr(pdf, "PRINT_WAIT", 0.1)
    blocker = threading.Thread(target=lambda: pdf.html_to_pdf("<p>slow</p>"))
    monkeypatch.setattr(pdf, "_print", lambda html_text, timeout: time.sleep(1) or b"%PDF")
    blocker.start()
    time.sleep(0.1)
    with pytest.raises(UsageError, match="正在生成其他 PDF"):
        pdf.html_to_pdf("<p>late</p>")
    blocker.join()
