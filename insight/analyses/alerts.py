"""Alerts on the live state: a buyer waiting too long, the last hour's 3-minute reply rate below a
threshold, a 1-star rating — shown on 实时监控 and, when a shop has a webhook, posted to a 钉钉 / 企业微信 /
飞书 robot (or plain JSON), each alert once per quiet period."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from insight.core.errors import UsageError
from insight.core.schema import ALERT_DDL

__all__ = ["AlertRule", "Alert", "ALERT_DDL", "WEBHOOK_KINDS", "rule_for", "save_rule", "evaluate", "webhook_body",
           "send_new_alerts", "QUIET_MINUTES"]

WEBHOOK_KINDS = ("dingtalk", "wecom", "feishu", "json")
QUIET_MINUTES = 10  # the same alert is not sent again within this


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
        if self.webhook_url and not self.webhook_url.startswith(("https://", "http://")):
            raise UsageError("webhook 地址应以 https:// 或 http:// 开头")
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


def send_new_alerts(con, alerts: list[Alert], rule: AlertRule, shop_label: str, now: dt.datetime,
                    timeout: float = 5.0) -> list[Alert]:
    """Post the alerts not sent within ``QUIET_MINUTES`` to the shop's webhook; record each attempt."""
    if not rule.webhook_url or not alerts:
        return []
    fresh = [a for a in alerts if not con.execute(
        "SELECT 1 FROM alert_sent WHERE shop_id = ? AND alert_key = ? AND sent_at > ?::TIMESTAMP - INTERVAL "
        f"{QUIET_MINUTES} MINUTE AND ok", [a.shop_id, a.key, now]).fetchone()]
    if not fresh:
        return []
    body = json.dumps(webhook_body(rule.webhook_kind, shop_label, fresh), ensure_ascii=False).encode()
    request = urllib.request.Request(rule.webhook_url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            ok, detail = 200 <= resp.status < 300, f"HTTP {resp.status}"
    except (urllib.error.URLError, OSError) as exc:
        ok, detail = False, str(exc)[:200]
    for a in fresh:
        con.execute("INSERT INTO alert_sent VALUES (?, ?, ?, ?, ?)", [a.shop_id, a.key, now, ok, detail])
    return fresh if ok else []
