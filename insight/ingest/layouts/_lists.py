"""Session and evaluation lists without message text: 生意参谋 接待明细 (one row per reception) and
邀评明细 (one row per invitation, no session id: matched to the chat session at import)."""

from __future__ import annotations

from insight.ingest.layouts._base import Converted, Layout, LayoutContext, Probe, cell_text, read_json

__all__ = ["SycmReceptionList", "SycmEvaluationList", "EVALUATION_SCORES", "INVITED_BY_CODES"]


def _data_source(doc) -> list[dict] | None:
    """``{"success", "code", "data": {"count", "dataSource": [...]}}`` (the 生意参谋 list APIs), or a list."""
    if isinstance(doc, dict):
        data = doc.get("data")
        if isinstance(data, dict) and isinstance(data.get("dataSource"), list):
            return [r for r in data["dataSource"] if isinstance(r, dict)]
        if isinstance(doc.get("dataSource"), list):
            return [r for r in doc["dataSource"] if isinstance(r, dict)]
    if isinstance(doc, list) and doc and all(isinstance(r, dict) for r in doc):
        return doc
    return None


def _first(rows) -> dict:
    return rows[0] if rows else {}


class SycmReceptionList(Layout):
    key = "sycm_reception_list"
    label = "生意参谋 接待明细（JSON）"
    source = "rakei076/sycm-cli（reception-list：接待明细接口的 JSON）"
    table = "sessions"

    def sniff(self, probe: Probe) -> bool:
        row = _first(_data_source(probe.json)) if probe.json is not None else {}
        return all(k in row for k in ("startTime", "endTime", "psnNickName")) and "sendTime" not in row

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted()
        rows = _data_source(read_json(probe.path, probe.name, ctx.limits)) or []
        for number, r in enumerate(rows, start=1):
            out.read += 1
            buyer = cell_text(r.get("buyerId")) or cell_text(r.get("buyerNick"))
            parts = [cell_text(r.get(k)) for k in ("dateId", "sellerId", "accountId", "buyerId")]
            # The API's own session key (the chat dumps' meta.dataId has the same shape).
            session = "_".join(parts) if all(parts) else cell_text(r.get("dataId"))
            out.tables.setdefault("sessions", []).append({
                "_line": number, "session_id": session, "buyer_id": buyer,
                "started_at": cell_text(r.get("startTime")), "ended_at": cell_text(r.get("endTime")),
                "agent_id": cell_text(r.get("psnNickName")) or cell_text(r.get("accountNick")),
                # A reception listed here is a human one: 接待明细 lists the sub-accounts' receptions.
                "assigned_at": cell_text(r.get("startTime")), "transferred_at": cell_text(r.get("startTime"))})
        out.notes.append("接待明细只有会话的起止时间和客服：响应时长、回复率等需要聊天记录的指标仍显示为不可用")
        return out


# lstEvaScore: the open API's codes (0 非常满意 … 4 非常不满意); words are read as words.
EVALUATION_SCORES = {"0": "5", "1": "4", "2": "3", "3": "2", "4": "1"}
INVITED_BY_CODES = {"0": "agent", "1": "buyer", "2": "system"}


class SycmEvaluationList(Layout):
    key = "sycm_evaluation_list"
    label = "生意参谋 邀评明细（JSON，无会话ID）"
    source = "rakei076/sycm-cli（evaluation-list：邀评明细接口的 JSON）"
    table = "evaluations"

    def sniff(self, probe: Probe) -> bool:
        row = _first(_data_source(probe.json)) if probe.json is not None else {}
        return "sendTime" in row and ("lstEvaScore" in row or "psnNickName" in row)

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted()
        rows = _data_source(read_json(probe.path, probe.name, ctx.limits)) or []
        masked = 0
        for number, r in enumerate(rows, start=1):
            out.read += 1
            score = cell_text(r.get("lstEvaScore"))
            source = cell_text(r.get("source"))
            buyer = cell_text(r.get("buyerNick"))
            masked += bool(buyer and "*" in buyer)
            out.tables.setdefault("evaluations", []).append({
                "_line": number, "session_id": cell_text(r.get("sessionId")) or cell_text(r.get("dataId")),
                "buyer_id": buyer, "invited_by": INVITED_BY_CODES.get(source or "", source),
                "invited_at": cell_text(r.get("sendTime")), "rating": EVALUATION_SCORES.get(score or "", score),
                "rated_at": cell_text(r.get("evaTime")), "agent_hint": cell_text(r.get("psnNickName")),
                "served_at": cell_text(r.get("servTime"))})
        out.notes.append("邀评明细没有会话ID：每行按 客服 + 接待时间（其次邀评时间）匹配到该客服的聊天会话"
                         + (f"；{masked} 行买家昵称已脱敏，不参与匹配" if masked else ""))
        return out
