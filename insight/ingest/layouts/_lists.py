"""Session and evaluation lists without message text: 生意参谋 接待明细 (one row per reception) and
邀评明细 (one row per invitation, no session id: matched to the chat session at import)."""

from __future__ import annotations

from insight.ingest._headers import header_key
from insight.ingest.layouts._base import Converted, Layout, LayoutContext, Probe, cell_text, read_grid, read_json

__all__ = ["SycmReceptionList", "SycmEvaluationList", "EvaluationListTable", "EVALUATION_SCORES", "INVITED_BY_CODES",
           "INVITED_BY_WORDS"]


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
        out = self.converted(probe)
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

    # 生意参谋 邀评明细 (servTime, sendTime, buyerNick, psnNickName, source, lstEvaScore), and the open API's
    # 客服评价 records (taobao.qianniu.kefueval.get, bububa/opentaobao model/wangwang/EvalDetail.go: send_time,
    # eval_time, eval_recer, eval_sender, source, eval_code) that workbenches such as 晓多 show.
    FIELDS = {"invited_at": ("sendTime", "send_time"), "served_at": ("servTime", "serv_time"),
              "buyer_id": ("buyerNick", "eval_recer"), "agent_hint": ("psnNickName", "eval_sender"),
              "rating": ("lstEvaScore", "eval_code"), "invited_by": ("source",), "rated_at": ("evaTime", "eval_time"),
              "session_id": ("sessionId", "dataId")}

    def sniff(self, probe: Probe) -> bool:
        row = _first(_data_source(probe.json)) if probe.json is not None else {}
        return ("sendTime" in row and ("lstEvaScore" in row or "psnNickName" in row)) or \
            ("send_time" in row and ("eval_code" in row or "eval_sender" in row))

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        rows = _data_source(read_json(probe.path, probe.name, ctx.limits)) or []
        values = [{k: next((cell_text(r.get(n)) for n in names if r.get(n) is not None), None)
                   for k, names in self.FIELDS.items()} for r in rows]
        codes = _score_scale(out, [v["rating"] for v in values], codes_by_default=True)
        for number, value in enumerate(values, start=1):
            out.read += 1
            out.tables.setdefault("evaluations", []).append(_evaluation(number, value, codes))
        _matching_note(out)
        return out


def _score_scale(out: Converted, values, codes_by_default: bool) -> bool:
    """Whether a file's numeric ratings are the open API's codes (0 非常满意 … 4 非常不满意) rather than
    stars (1–5): decided for the whole file (a 0 means codes, a 5 means stars), else by the layout's own
    convention, and said."""
    seen = {str(v).strip() for v in values if v is not None and str(v).strip().isdigit()}
    codes = "0" in seen or ("5" not in seen and codes_by_default)
    if seen:
        out.notes.append("评价结果的数字按平台代码读取（0 非常满意 … 4 非常不满意）" if codes
                         else "评价结果的数字按星级读取（1 非常不满意 … 5 非常满意）")
    return codes


def _evaluation(line: int, value: dict, codes: bool = True) -> dict:
    """One invitation as an evaluations row: codes and words as the platforms write them."""
    score, source = value.get("rating"), value.get("invited_by")
    rating = EVALUATION_SCORES.get(score or "", score) if codes else score
    return {"_line": line, "session_id": value.get("session_id"), "buyer_id": value.get("buyer_id"),
            "invited_by": INVITED_BY_CODES.get(source or "", INVITED_BY_WORDS.get(source or "", source)),
            "invited_at": value.get("invited_at") or value.get("served_at"),
            "rating": rating, "rated_at": value.get("rated_at"),
            "tags": value.get("tags"), "comment": value.get("comment"),
            "agent_hint": value.get("agent_hint"), "served_at": value.get("served_at")}


def _matching_note(out: Converted) -> None:
    rows = out.tables.get("evaluations", [])
    masked = sum(1 for r in rows if r["buyer_id"] and "*" in r["buyer_id"])
    if any(not r["session_id"] for r in rows):
        out.notes.append("评价列表没有会话ID：每行按 客服 + 接待时间（其次邀评时间）匹配到该客服的聊天会话"
                         + (f"；{masked} 行买家昵称已脱敏，不参与匹配" if masked else ""))


INVITED_BY_WORDS = {"客服邀评": "agent", "客服邀请": "agent", "客服": "agent", "消费者自主评价": "buyer", "买家自主": "buyer",
                    "买家自主评价": "buyer", "主动评价": "buyer", "买家": "buyer", "系统邀评": "system", "系统": "system",
                    "系统自动邀评": "system", "自动邀评": "system"}
_TABLE_HEADERS = {"served_at": ("接待时间", "服务时间", "咨询时间"), "invited_at": ("邀评时间", "邀请时间", "发送时间"),
                  "buyer_id": ("买家", "买家昵称", "买家账号", "顾客", "客户"),
                  "agent_hint": ("客服", "客服昵称", "客服账号", "接待客服", "子账号"),
                  "invited_by": ("评价来源", "邀评来源", "来源", "邀评方式"), "rating": ("评价结果", "评价等级", "满意度", "评价"),
                  "rated_at": ("评价时间",), "tags": ("评价标签", "标签"), "comment": ("评价内容", "评语", "备注"),
                  "session_id": ("会话ID", "会话id", "会话编号")}


class EvaluationListTable(Layout):
    """A workbook or CSV list of invitations without session ids (晓多 评价列表, 生意参谋 邀评明细 download):
    its columns as the issue and the 生意参谋 page name them (接待时间、邀评时间、买家、客服、评价来源、评价结果)."""

    key = "evaluation_list_table"
    label = "评价列表（无会话ID）"
    source = "生意参谋 邀评明细页面的列（接待时间、邀评时间、买家、客服、来源）；晓多 评价列表同类"
    table = "evaluations"

    @staticmethod
    def _columns(row) -> dict[str, int] | None:
        keys = [header_key(c) if c is not None else "" for c in (row or [])]
        found = {}
        for field, names in _TABLE_HEADERS.items():
            hit = next((keys.index(header_key(n)) for n in names if header_key(n) in keys), None)
            if hit is not None:
                found[field] = hit
        needed = {"agent_hint", "rating"} <= set(found) and ({"served_at", "invited_at"} & set(found))
        return found if needed and "session_id" not in found else None

    def _find(self, sheets):
        for name, rows in sheets.items():
            for i, row in enumerate(rows[:10]):
                cols = self._columns(row)
                if cols:
                    return name, i, cols
        return None

    def sniff(self, probe: Probe) -> bool:
        return bool(probe.sheets) and self._find(probe.sheets) is not None

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        sheets = read_grid(probe.path, probe.name, ctx.limits)
        found = self._find(sheets)
        if found is None:
            return out
        name, at, cols = found
        values = []
        for number, row in enumerate(sheets[name][at + 1:], start=at + 2):
            cells = list(row) + [None] * (max(cols.values()) + 1 - len(row))
            if all(c is None for c in cells):
                out.exclude("空行")
                continue
            values.append((number, {k: cell_text(cells[c]) for k, c in cols.items()}))
        # A table a person reads gives stars or words; codes only when a 0 shows it.
        codes = _score_scale(out, [v["rating"] for _, v in values], codes_by_default=False)
        for number, value in values:
            out.read += 1
            out.tables.setdefault("evaluations", []).append(_evaluation(number, value, codes))
        _matching_note(out)
        return out
