"""Live alerts: thresholds per shop, the robots' message formats, a local webhook receiver, and each
alert sent once per quiet period."""

import datetime as dt
import http.server
import json
import threading

import pytest

from insight.analyses.alerts import (
    AlertRule,
    evaluate,
    post_webhook,
    rule_for,
    save_rule,
    send_new_alerts,
    webhook_body,
)
from insight.analyses.live import live_snapshot
from insight.core.access import LOCAL
from insight.core.errors import UsageError
from insight.metrics.engine import MetricEngine

from conftest import Chat, load, messages_of

AGENTS = [{"agent_id": "A1", "shop_id": "S1", "agent_name": "小一", "kind": "human"}]


@pytest.fixture
def store(tmp_path):
    chats = [Chat("c1", "b1").buyer("10:00:00", "在吗").agent("10:01:00", "在的", "A1").buyer("10:02:00", "发货了吗")]
    evaluations = [{"session_id": "c1", "shop_id": "S1", "buyer_id": "b1", "invited_by": "agent",
                    "invited_at": "2024-05-10 10:01:30", "rating": 1, "rated_at": "2024-05-10 10:01:50"}]
    return load(tmp_path, messages=messages_of(*chats), agents=AGENTS, evaluations=evaluations)


@pytest.fixture
def receiver():
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/robot", got
    server.shutdown()


def test_thresholds_raise_alerts(store):
    at = dt.datetime(2024, 5, 10, 10, 6)
    snap = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL, as_of=at)
    alerts = evaluate(store.con, snap, AlertRule("S1"))
    kinds = {a.kind for a in alerts}
    assert kinds == {"wait", "one_star"}  # b1 waits 4 min; a 1-star rating in the last hour
    assert not evaluate(store.con, snap, AlertRule("S1", wait_seconds=600, one_star=False))


def test_robot_formats():
    from insight.analyses.alerts import Alert

    alerts = [Alert("S1", "wait", "k", "有买家已等待 5.0 分钟")]
    assert webhook_body("dingtalk", "一店", alerts)["text"]["content"].startswith("【服务洞察】一店")
    assert webhook_body("wecom", "一店", alerts)["msgtype"] == "text"
    assert "有买家已等待" in webhook_body("feishu", "一店", alerts)["content"]["text"]
    assert webhook_body("json", "一店", alerts)["alerts"][0]["kind"] == "wait"


def test_webhook_gets_each_alert_once_per_quiet_period(store, receiver, monkeypatch):
    monkeypatch.setenv("INSIGHT_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver runs on this machine
    url, got = receiver
    save_rule(store.con, AlertRule("S1", webhook_url=url, webhook_kind="dingtalk"))
    rule = rule_for(store.con, "S1")
    at = dt.datetime(2024, 5, 10, 10, 6)
    snap = live_snapshot(MetricEngine(store), "S1", viewer=LOCAL, as_of=at)
    sent = send_new_alerts(store.con, evaluate(store.con, snap, rule), rule, "一店", at)
    assert len(sent) == 2 and len(got) == 1 and "1 分评价" in got[0]["text"]["content"]
    assert not send_new_alerts(store.con, evaluate(store.con, snap, rule), rule, "一店", at + dt.timedelta(minutes=1))
    assert len(got) == 1
    with pytest.raises(UsageError):
        save_rule(store.con, AlertRule("S1", webhook_url="ftp://x"))


def test_alerts_cli(tmp_path, capsys):
    from insight import Store, import_paths
    from insight.cli import main

    from conftest import write_dataset

    db = tmp_path / "s.duckdb"
    with Store(db) as s:
        import_paths(s, [write_dataset(tmp_path / "d", messages=messages_of(Chat("c9").buyer("09:00:00", "在吗")))])
    assert main(["alerts", "--shop", "S1", "--db", str(db), "--wait-seconds", "120", "--webhook",
                 "https://oapi.dingtalk.com/robot/send?access_token=x", "--kind", "dingtalk"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["wait_seconds"] == 120 and shown["webhook_kind"] == "dingtalk"
    assert main(["alerts", "--shop", "S1", "--db", str(db), "--webhook", ""]) == 0
    assert json.loads(capsys.readouterr().out)["webhook_url"] is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:8501/api/v1/events", "http://localhost/x", "http://[::1]/x",
                                 "http://169.254.169.254/latest/meta-data/", "http://10.0.0.8/robot",
                                 "https://192.168.1.1/x", "http://metadata.google.internal/", "http://0.0.0.0/",
                                 "http://[::ffff:127.0.0.1]/x", "http://user:pw@oapi.dingtalk.com/x", "gopher://x/",
                                 "http://printer.local/x", "http://2130706433/x"])
def test_webhooks_to_this_machine_or_an_internal_network_are_refused(store, url, monkeypatch):
    monkeypatch.delenv("INSIGHT_WEBHOOK_ALLOW_PRIVATE", raising=False)
    with pytest.raises(UsageError):
        save_rule(store.con, AlertRule("S1", webhook_url=url))
    ok, detail = post_webhook(url, b"{}", deadline=2)
    assert not ok and ("内网" in detail or "地址" in detail), detail


def test_a_name_that_resolves_inside_is_refused_when_posting(monkeypatch):
    """A public-looking name checked at save time may resolve to an internal address later (DNS rebinding):
    the address is checked when posting, and the connection goes to that checked address."""
    import socket

    monkeypatch.delenv("INSIGHT_WEBHOOK_ALLOW_PRIVATE", raising=False)
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real("127.0.0.1", *a, **k)
                        if host == "robot.example.com" else real(host, *a, **k))
    ok, detail = post_webhook("https://robot.example.com/send", b"{}", deadline=2)
    assert not ok and "内网" in detail


def test_a_webhook_that_answers_a_byte_a_second_is_cut_off_at_the_deadline(monkeypatch):
    import socket
    import time

    monkeypatch.setenv("INSIGHT_WEBHOOK_ALLOW_PRIVATE", "1")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip():
        conn, _ = listener.accept()
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            if stop.is_set():
                break
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
        conn.close()
    threading.Thread(target=drip, daemon=True).start()
    started = time.monotonic()
    ok, detail = post_webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/robot", b"{}", deadline=1.5)
    took = time.monotonic() - started
    stop.set()
    listener.close()
    assert not ok and "超过 1.5 秒" in detail and took < 3, (took, detail)
