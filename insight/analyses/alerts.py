"""Alerts on the live state: a buyer waiting too long, the last hour's 3-minute reply rate below a
threshold, a 1-star rating — shown on 实时监控 and, when a shop has a webhook, posted to a 钉钉 / 企业微信 /
飞书 robot (or plain JSON), each alert once per quiet period."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import ipaddress
import json
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from insight.core.errors import UsageError
from insight.core.schema import ALERT_DDL

__all__ = ["AlertRule", "Alert", "ALERT_DDL", "WEBHOOK_KINDS", "rule_for", "save_rule", "evaluate", "webhook_body",
           "webhook_payload", "fresh_alerts", "record_attempt", "send_new_alerts", "post_webhook", "check_webhook_url",
           "private_allowed", "QUIET_MINUTES", "WEBHOOK_SECONDS"]

WEBHOOK_KINDS = ("dingtalk", "wecom", "feishu", "json")
QUIET_MINUTES = 10  # the same alert is not sent again within this
WEBHOOK_SECONDS = 10.0  # one post, connecting and answering included


@dataclass(frozen=True)
class AlertRule:
    shop_id: str
    wait_seconds: int = 180
    reply_rate_1h: float = 0.8
    one_star: bool = True
    webhook_url: str | None = None
    webhook_kind: str = "json"

    def validate(self) -> "AlertRule":
        if not (10 <= self.wait_seconds <= 86_400):
            raise UsageError("等待阈值应在 10 秒到 1 天之间")
        if not (0 < self.reply_rate_1h <= 1):
            raise UsageError("3分钟回复率阈值应在 0 到 1 之间")
        if self.webhook_kind not in WEBHOOK_KINDS:
            raise UsageError(f"webhook 类型应为 {' / '.join(WEBHOOK_KINDS)}")
        if self.webhook_url:
            check_webhook_url(self.webhook_url)
        return self


@dataclass(frozen=True)
class Alert:
    shop_id: str
    kind: str  # wait | reply_rate | one_star
    key: str  # what makes it the same alert again (the waiting session, the hour, the rating)
    message: str


def rule_for(con, shop_id: str) -> AlertRule:
    row = con.execute("SELECT shop_id, wait_seconds, reply_rate_1h, one_star, webhook_url, webhook_kind "
                      "FROM alert_rules WHERE shop_id = ?", [shop_id]).fetchone()
    return AlertRule(*row) if row else AlertRule(shop_id)


def save_rule(con, rule: AlertRule) -> None:
    rule.validate()
    con.execute("DELETE FROM alert_rules WHERE shop_id = ?", [rule.shop_id])
    con.execute("INSERT INTO alert_rules VALUES (?, ?, ?, ?, ?, ?)", list(asdict(rule).values()))


def evaluate(con, snapshot: dict, rule: AlertRule) -> list[Alert]:
    """The alerts a live snapshot (``analyses.live.live_snapshot``) raises under ``rule``."""
    out: list[Alert] = []
    as_of = snapshot.get("as_of")
    if as_of is None:
        return out
    shop, head = rule.shop_id, snapshot["shop"]
    if head.get("longest_wait") is not None and head["longest_wait"] > rule.wait_seconds:
        minutes = head["longest_wait"] / 60
        key = f"wait:{as_of:%Y%m%d%H}{as_of.minute // QUIET_MINUTES}"  # again every quiet period while it lasts
        out.append(Alert(shop, "wait", key, f"有买家已等待 {minutes:.1f} 分钟（阈值 {rule.wait_seconds // 60} 分钟），"
                                            f"排队 {head['buyers_waiting']} 人"))
    n, ok = head.get("buyer_msgs_1h") or 0, (head.get("buyer_msgs_1h") or 0) - (head.get("breaches_1h") or 0)
    if n >= 10 and ok / n < rule.reply_rate_1h:
        out.append(Alert(shop, "reply_rate", f"rate:{as_of:%Y%m%d%H}",
                         f"近 1 小时 3 分钟回复率 {ok / n:.0%}，低于 {rule.reply_rate_1h:.0%}（买家消息 {n} 条）"))
    if rule.one_star:
        for sid, agent in con.execute(
                """SELECT e.session_id, f.agent_id FROM evaluations e
                   LEFT JOIN f_sessions f ON f.shop_id = e.shop_id AND f.session_id = e.session_id
                   WHERE e.shop_id = ? AND e.rating = 1 AND coalesce(e.rated_at, e.invited_at)
                         BETWEEN ?::TIMESTAMP - INTERVAL 1 HOUR AND ?""", [shop, as_of, as_of]).fetchall():
            out.append(Alert(shop, "one_star", f"star:{sid}", f"收到 1 分评价（会话 {sid}，客服 {agent or '未分配'}）"))
    return out


def webhook_body(kind: str, shop_label: str, alerts: list[Alert]) -> dict:
    """The robot's message format: 钉钉 / 企业微信 text, 飞书 text, or plain JSON."""
    text = f"【服务洞察】{shop_label}\n" + "\n".join(f"· {a.message}" for a in alerts)
    if kind in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": text}}
    if kind == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    return {"shop": shop_label, "alerts": [asdict(a) for a in alerts]}


def fresh_alerts(con, alerts: list[Alert], now: dt.datetime) -> list[Alert]:
    """The alerts not sent successfully within ``QUIET_MINUTES`` before ``now``."""
    return [a for a in alerts if not con.execute(
        "SELECT 1 FROM alert_sent WHERE shop_id = ? AND alert_key = ? AND sent_at > ?::TIMESTAMP - INTERVAL "
        f"{QUIET_MINUTES} MINUTE AND ok", [a.shop_id, a.key, now]).fetchone()]


def record_attempt(con, alerts: list[Alert], now: dt.datetime, ok: bool, detail: str) -> None:
    for a in alerts:
        con.execute("INSERT INTO alert_sent VALUES (?, ?, ?, ?, ?)", [a.shop_id, a.key, now, ok, detail[:200]])


def send_new_alerts(con, alerts: list[Alert], rule: AlertRule, shop_label: str, now: dt.datetime,
                    deadline: float = WEBHOOK_SECONDS) -> list[Alert]:
    """Post the alerts not sent within ``QUIET_MINUTES`` to the shop's webhook (at most ``deadline``
    seconds in all) and record the attempt; the alerts sent. The server posts off its writer thread
    (``insight.web``): this is the whole round for one caller."""
    if not rule.webhook_url or not alerts:
        return []
    fresh = fresh_alerts(con, alerts, now)
    if not fresh:
        return []
    ok, detail = post_webhook(rule.webhook_url, webhook_payload(rule, shop_label, fresh), deadline=deadline)
    record_attempt(con, fresh, now, ok, detail)
    return fresh if ok else []


def webhook_payload(rule: AlertRule, shop_label: str, alerts: list[Alert]) -> bytes:
    return json.dumps(webhook_body(rule.webhook_kind, shop_label, alerts), ensure_ascii=False).encode()


# -- posting: a total deadline, and never to this machine or an internal network unless allowed ---------

def private_allowed() -> bool:
    """``INSIGHT_WEBHOOK_ALLOW_PRIVATE=1``: robots on this machine or an internal network may be posted to
    (an intranet robot, a test receiver). Off by default: a shop's supervisor setting a webhook must not
    reach the server's own services (SSRF)."""
    return os.environ.get("INSIGHT_WEBHOOK_ALLOW_PRIVATE", "") in ("1", "true", "yes")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_webhook_url(url: str, allow_private: bool | None = None) -> None:
    """What can be said of a webhook address without resolving it; raises UsageError."""
    allow_private = private_allowed() if allow_private is None else allow_private
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError("webhook 地址应以 https:// 或 http:// 开头，并带主机名")
    if parts.username or parts.password:
        raise UsageError("webhook 地址不能包含用户名或密码")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UsageError("webhook 地址的端口无效") from None
    host = parts.hostname.rstrip(".").lower()
    if allow_private:
        return
    internal = host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan", ".intranet"))
    try:
        internal = internal or not _is_public(host)
    except ValueError:  # a name (resolved and checked again when posting), or IPv4 in an old form
        with contextlib.suppress(OSError):  # 2130706433, 0x7f.1, 127.1: what the resolver reads as IPv4
            internal = internal or not _is_public(socket.inet_ntoa(socket.inet_aton(host)))
    if internal:
        raise UsageError("webhook 地址指向本机或内网地址，已拒绝（内网机器人请设置环境变量 INSIGHT_WEBHOOK_ALLOW_PRIVATE=1）")


class _Pinned:
    """An HTTP(S) connection to an address resolved and checked beforehand (a name cannot resolve to
    another address between the check and the connection)."""

    def connect(self):
        sock = socket.create_connection(self._address, self.timeout)
        if isinstance(self, http.client.HTTPSConnection):
            sock = self._context.wrap_socket(sock, server_hostname=self.host)
        self.sock = sock


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    pass


def post_webhook(url: str, body: bytes, *, deadline: float = WEBHOOK_SECONDS,
                 allow_private: bool | None = None) -> tuple[bool, str]:
    """POST ``body`` (JSON) to ``url`` within ``deadline`` seconds in all — a receiver that answers one
    byte at a time is cut off at the deadline, not after each read — and (ok, what happened)."""
    allow_private = private_allowed() if allow_private is None else allow_private
    try:
        check_webhook_url(url, allow_private)
    except UsageError as exc:
        return False, str(exc)
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    end = time.monotonic() + deadline
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return False, f"无法解析 webhook 主机: {exc}"
    address = infos[0][4][:2]
    if not allow_private and not _is_public(address[0]):
        return False, "webhook 主机解析到本机或内网地址，已拒绝（INSIGHT_WEBHOOK_ALLOW_PRIVATE=1 允许）"
    conn = (_PinnedHTTPS if https else _PinnedHTTP)(parts.hostname, port, timeout=max(0.1, end - time.monotonic()))
    conn._address = address

    def cut_off():
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
    watchdog = threading.Timer(max(0.0, end - time.monotonic()), cut_off)
    watchdog.daemon = True
    watchdog.start()
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                       "User-Agent": "service-insight-alerts"})
        resp = conn.getresponse()
        resp.read(64 * 1024)
        ok, detail = 200 <= resp.status < 300, f"HTTP {resp.status}"
    except (OSError, http.client.HTTPException) as exc:
        ok, detail = False, str(exc)[:200] or type(exc).__name__
    finally:
        watchdog.cancel()
        conn.close()
    if time.monotonic() >= end and not ok:
        detail = f"超过 {deadline:g} 秒未完成，已放弃（{detail}）"
    return ok, detail
