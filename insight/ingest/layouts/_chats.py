"""Chat logs as shops really get them: scraped 千牛 pages, userscript workbooks, text copied out of the
千牛 client, 生意参谋 API dumps, 拼多多 chat-search dumps — and JDDC research files, which are refused
(they carry no times). Each is turned into DATA.md ``messages`` rows; sessions are then cut by the
gap rule unless the file gives them. Sources are cited per layout (and in tests/ingest/layouts)."""

from __future__ import annotations

import datetime as dt
import re

from insight.core.errors import ImportFailed
from insight.ingest.layouts._base import (
    Converted,
    Layout,
    LayoutContext,
    MissingDay,
    Probe,
    Sender,
    cell_text,
    check_length,
    day_from_name,
    decode_text,
    read_grid,
    read_json,
    shop_account,
    system_line,
)

__all__ = ["QianniuScraped", "QianniuUserscript", "QianniuCopiedText", "SycmChatJson", "PddChatJson", "JddcTsv"]

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_NO_CHAT = ("(无聊天内容)", "（无聊天内容）")


def _chat_day(probe: Probe, ctx: LayoutContext, out: Converted, from_name: bool, why: str) -> dt.date:
    """The day of a file whose times have no date: the file name's (``from_name``), else the day named at
    import (--day), which never overrides a day the file carries."""
    if from_name:
        first, last, note = day_from_name(probe.name, ctx.today)
        if first is not None and first == last:
            out.notes.append(note or f"聊天日期取自文件名: {first}")
            return first
    if ctx.day is not None:
        out.notes.append(f"聊天日期按指定的 {ctx.day} 读取")
        out.day_used = True
        return ctx.day
    raise MissingDay(f"{probe.name}: {out.label}的消息时间只有时分秒，{why}：缺少聊天日期，"
                       "请用 --day YYYY-MM-DD 指明（数据管理中选择日期）")


def _at(day: dt.date, clock: str) -> str:
    """``day`` at ``clock``; a clock that is no time of day (25:99:99, 24:00) stays as written, so that the
    import rejects that message with its reason instead of moving it to another day."""
    parts = [int(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.append(0)
    if parts[0] > 23 or parts[1] > 59 or parts[2] > 59:
        return f"{day.isoformat()} {clock}（不是一天中的时刻）"
    return f"{day.isoformat()} {parts[0]:02d}:{parts[1]:02d}:{parts[2]:02d}"


def _message(out: Converted, line: int, buyer: str, role: str, nick: str | None, sent_at: str, content: str,
             **extra) -> None:
    check_length(out.file, line, content)
    row = {"_line": line, "buyer_id": buyer, "sender_role": role,
           "agent_id": nick if role in ("agent", "robot") else None, "sent_at": sent_at, "content": content,
           "content_type": extra.pop("content_type", None) or _content_type(content)}
    row.update(extra)
    out.tables.setdefault("messages", []).append(row)
    out.read += 1


def _content_type(content: str) -> str:
    text = content.strip()
    if text in ("[图片]", "[图片消息]", "【图片】") or text.startswith("[图片"):
        return "image"
    if re.fullmatch(r"\[[^\]]{1,6}\]", text):
        return "emoji"
    return "text"


# -- 千牛 web chat page scraped to XLSX (khgkk/qianniu-chat-extract, scripts/extract.js) -------
_BLOCK = re.compile(rf"(?:^|\n\n)({_TIME})\n")


class QianniuScraped(Layout):
    key = "qianniu_scraped_xlsx"
    table = "messages"
    label = "千牛聊天记录（每位买家一行）"
    source = "khgkk/qianniu-chat-extract（scripts/extract.js，CDP 抓取千牛聊天记录查询页）"

    def _sheet(self, probe: Probe):
        for name, rows in probe.sheets.items():
            head = [str(c).strip() if c is not None else "" for c in (rows[0] if rows else [])][:2]
            if head == ["客户ID", "聊天记录"]:  # the writer's own header
                return name
            cells = [r for r in rows[1:] if r and len(r) >= 2 and isinstance(r[1], str)]
            if cells and sum(1 for r in cells if re.match(rf"^{_TIME}\n", r[1]) or r[1].strip() in _NO_CHAT) \
                    >= max(1, len(cells) // 2):
                return name
        return None

    def sniff(self, probe: Probe) -> bool:
        return probe.suffix in (".xlsx", ".xls") and self._sheet(probe) is not None

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        out.unit = "条消息"
        day = _chat_day(probe, ctx, out, True, "文件名里也没有日期（抓取脚本以“千牛聊天记录_11月9日”命名）")
        sheet = self._sheet(probe)
        rows = read_grid(probe.path, probe.name, ctx.limits)[sheet]
        sender = Sender(ctx.robot_names)
        for number, row in enumerate(rows[1:], start=2):
            buyer = cell_text(row[0]) if row else None
            chat = cell_text(row[1]) if row and len(row) > 1 else None
            if not buyer and not chat:
                out.exclude("空行")
                continue
            if chat is None or chat.strip() in _NO_CHAT:
                out.exclude("买家当天没有聊天内容（无聊天内容）")
                continue
            if chat.startswith(("(提取失败", "（提取失败")):
                out.exclude("抓取失败的买家（提取失败）")
                continue
            if not buyer or not buyer.strip():
                raise ImportFailed(f"{probe.name}（工作表 {sheet}）第 {number} 行，列 客户ID: 有聊天内容却没有客户ID，"
                                   "无法知道是哪位买家")
            buyer = buyer.strip()
            starts = list(_BLOCK.finditer(chat))
            if not starts:
                out.exclude("聊天单元格里没有“时:分:秒”开头的消息")
                continue
            for i, match in enumerate(starts):
                body = chat[match.end(): starts[i + 1].start() if i + 1 < len(starts) else len(chat)]
                nick, text = self._split(body, buyer, sender)
                role = "system" if system_line(text) else sender.role(nick, buyer)
                # One row holds a buyer's whole day: a message is named by its place in the file.
                _message(out, out.read + 1, buyer, role, nick, _at(day, match.group(1)), text, sheet_row=number)
        out.notes.append("一格里是一位买家一天的全部消息：被拒绝的消息按它在文件中的序号（第 N 条消息）给出")
        return out

    @staticmethod
    def _split(body: str, buyer: str, sender: Sender) -> tuple[str | None, str]:
        """``名字: 内容`` (the writer joins them with ': '); a block without a name is the page's own line."""
        name, sep, rest = body.partition(": ")
        if sep and (name == buyer or shop_account(name) or sender.is_robot(name)):
            return name, rest
        return None, body


# -- 千牛 userscript: one sheet per buyer (「千牛聊天记录导出器 Excel」 v5.5, SheetJS) ----------------
_US_HEADERS = ("客户名", "发送时间", "发送内容", "发送账号")


class QianniuUserscript(Layout):
    key = "qianniu_userscript_xlsx"
    table = "messages"
    label = "千牛聊天记录（每位买家一张工作表）"
    source = "油猴脚本「千牛聊天记录导出器 Excel」v5.5（SheetJS），见 tests/ingest/layouts/qianniu_userscript_xlsx"

    @staticmethod
    def _columns(rows) -> dict[str, int] | None:
        if not rows or not rows[0]:
            return None
        header = [str(c).strip() if c is not None else "" for c in rows[0]]
        if all(h in header for h in _US_HEADERS):
            return {h: header.index(h) for h in header if h}
        return None

    def sniff(self, probe: Probe) -> bool:
        return probe.suffix in (".xlsx", ".xls") and any(self._columns(r) for r in probe.sheets.values())

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        out.unit = "条消息"
        sheets = read_grid(probe.path, probe.name, ctx.limits)
        if "导出汇总" in sheets:
            summary = sheets["导出汇总"]
            head = [str(c) for c in summary[0]] if summary else []
            if "状态" in head:
                failed = sum(1 for r in summary[1:] if r and r[head.index("状态")] not in (None, "成功"))
                if failed:
                    out.notes.append(f"导出汇总: {failed} 位买家导出失败（见工作表“导出汇总”的失败原因），其聊天不在文件中")
            out.exclude("汇总工作表（导出汇总）", 1)
        day = _chat_day(probe, ctx, out, False,
                        "导出时页面的日期行被丢弃，文件名是导出时间而不是聊天日期")
        sender = Sender(ctx.robot_names)
        for name, rows in sheets.items():
            cols = self._columns(rows)
            if cols is None:
                continue
            for number, row in enumerate(rows[1:], start=2):
                get = lambda h: cell_text(row[cols[h]]) if h in cols and cols[h] < len(row) else None  # noqa: E731
                clock, text = get("发送时间"), get("发送内容")
                if not clock and not text:
                    out.exclude("空行")
                    continue
                buyer = (get("客户名") or name).strip()
                nick = (get("发送账号") or "").strip() or None
                if not clock or not re.fullmatch(_TIME, clock.strip()):
                    raise ImportFailed(f"{probe.name}（工作表 {name}）第 {number} 行，列 发送时间: "
                                       f"应为 时:分:秒，而不是 {str(clock)[:40]!r}")
                text = text or ""
                role = "system" if system_line(text) else sender.role(nick, buyer)
                # 账号类型 is guessed by the script from words such as 店; the rule above decides instead.
                # Every sheet starts at row 2: a message is named by its place in the file.
                _message(out, out.read + 1, buyer, role, nick, _at(day, clock.strip()), text, sheet=name)
        out.notes.append("每位买家一张工作表：被拒绝的消息按它在文件中的序号（第 N 条消息，按工作表顺序）给出")
        return out


# -- 千牛 client window copied as text (readcliper.py parse_qianniu_chat_to_json) ---------------
_HEADER = re.compile(r"^(.*?)\s*((?:19|20)\d{2}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2})$")
_PAGE_NOTICES = ("当前用户来自", "商品详情页", "商品推荐", "这些非常适合您的商品可以一起看看", "原因：【离线留言自动分配】", "千牛")
_STATUS = ("已读", "未读", "发送中")


def _sender(text: str) -> str:
    """The sender of a copied header: ``昵称``, or ``发送人 --> 接收人`` (a form readcliper.py also reads)."""
    return text.split("-->", 1)[0].strip()


class QianniuCopiedText(Layout):
    key = "qianniu_copy_txt"
    table = "messages"
    label = "千牛复制文本（每位买家一个文件）"
    source = "readcliper.py（parse_qianniu_chat_to_json，复制千牛客户端聊天窗口后解析）"

    def sniff(self, probe: Probe) -> bool:
        if probe.suffix != ".txt" or not probe.text:
            return False
        lines = probe.text.splitlines()
        return sum(1 for x in lines if _HEADER.match(x.strip())) >= 1 and not any(x.count("\t") >= 6 for x in lines[:5])

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        out.unit = "条消息"
        if ctx.limits is not None:
            ctx.limits.check_file_size(probe.name, probe.path.stat().st_size)
        lines = decode_text(probe.path.read_bytes(), probe.name).replace("\r\n", "\n").replace("\r", "\n").split("\n")
        headers = [(i, m) for i, x in enumerate(lines) if (m := _HEADER.match(x.strip()))]
        nicks = [_sender(m.group(1)) for _, m in headers]
        buyers = [n for n in nicks if n and not shop_account(n) and not Sender(ctx.robot_names).is_robot(n)]
        # One window per file: the buyer is the one nickname that is not the shop's.
        buyer = max(set(buyers), key=buyers.count) if buyers else None
        recall = re.compile(r"^(.+?)\s*撤回了一条消息$")
        if buyer is None:
            found = next((recall.match(x.strip()) for x in lines if recall.match(x.strip())), None)
            buyer = found.group(1).strip() if found else None
        if buyer is None:
            raise ImportFailed(f"{probe.name}: 找不到买家：没有一条消息来自店铺账号（店铺名:子账号）以外的昵称")
        sender = Sender(ctx.robot_names)
        current: dict | None = None
        pending_transfer: list[str] | None = None

        def flush() -> None:
            nonlocal current
            if current is not None:
                content = "\n".join(current["lines"]).strip()
                if content or current["nick"]:
                    _message(out, current["line"], buyer, current["role"], current["nick"], current["at"], content)
            current = None

        last_at: str | None = None
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            header = _HEADER.match(line)
            if header:
                if pending_transfer is not None:
                    _message(out, pending_transfer[0], buyer, "system", None, last_at, " ".join(pending_transfer[1:]))
                    pending_transfer = None
                flush()
                nick = _sender(header.group(1))
                try:
                    at = dt.datetime.strptime(header.group(2), "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    raise ImportFailed(f"{probe.name} 第 {number} 行: 无法识别的时间 {header.group(2)!r}") from None
                last_at = at.strftime("%Y-%m-%d %H:%M:%S")
                current = {"line": number, "nick": nick, "role": sender.role(nick, buyer), "at": last_at, "lines": []}
                continue
            if not line:
                continue
            if line in _STATUS:
                out.exclude("已读/未读/发送中状态行")
                continue
            if pending_transfer is not None:  # 由 服务助手 转交给 / 小美: the name is on the next line
                pending_transfer.append(line)
                _message(out, pending_transfer[0], buyer, "system", None, last_at, " ".join(pending_transfer[1:]))
                pending_transfer = None
                continue
            if recall.match(line):
                flush()
                _message(out, number, buyer, "system", None, last_at or "", line)
                continue
            if line.startswith("由") and "转交给" in line:
                flush()
                if line.endswith("转交给"):
                    pending_transfer = [number, line]
                else:
                    _message(out, number, buyer, "system", None, last_at, line)
                continue
            if current is None:
                if line.startswith(_PAGE_NOTICES) or line.startswith("http"):
                    out.exclude("窗口顶部的页面提示（如 当前用户来自…）")
                else:
                    out.exclude("第一条消息之前的文字")
                continue
            current["lines"].append(line)
        if pending_transfer is not None:
            _message(out, pending_transfer[0], buyer, "system", None, last_at, " ".join(pending_transfer[1:]))
        flush()
        if not headers:
            raise ImportFailed(f"{probe.name}: 没有“昵称 YYYY-M-D H:MM:SS”形式的消息抬头行")
        for row in out.tables.get("messages", []):
            if not row["sent_at"]:
                raise ImportFailed(f"{probe.name} 第 {row['_line']} 行: 撤回提示出现在第一条消息之前，无法确定时间")
        return out


# -- 生意参谋 旺旺咨询明细 via the API (rakei076/sycm-cli fetch / fetch-recent) -------------------
def _records(doc) -> list[dict] | None:
    """The message records of a sycm dump: {sessions: [{meta, messages}]}, or a flat list (NDJSON)."""
    if isinstance(doc, dict) and isinstance(doc.get("sessions"), list):
        out = []
        for s in doc["sessions"]:
            if isinstance(s, dict) and isinstance(s.get("messages"), list):
                meta = s.get("meta") if isinstance(s.get("meta"), dict) else {}
                out.extend({**m, "_session": meta.get("dataId")} for m in s["messages"] if isinstance(m, dict))
        return out
    if isinstance(doc, list) and doc and all(isinstance(m, dict) for m in doc):
        return doc
    return None


class SycmChatJson(Layout):
    key = "sycm_chat_json"
    table = "messages"
    label = "生意参谋 旺旺咨询明细（JSON）"
    source = "rakei076/sycm-cli（fetch / fetch-recent 的 JSON 输出）"

    def sniff(self, probe: Probe) -> bool:
        records = _records(probe.json) if probe.json is not None else None
        return bool(records) and all(k in records[0] for k in ("gmtCreated", "userNickFrom", "msg"))

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        out = self.converted(probe)
        out.unit = "条消息"
        records = _records(read_json(probe.path, probe.name, ctx.limits)) or []
        sender = Sender(ctx.robot_names)
        masked = set()
        for number, m in enumerate(records, start=1):
            nick_from = str(m.get("userNickFrom") or "").strip()
            nick_to = str(m.get("userNickTo") or "").strip()
            account = str(m.get("psnNickName") or "").strip()
            # The shop's accounts start with the shop's name (店铺名:子账号), the one psnNickName has; a buyer
            # nick with a colon in it is still a buyer.
            shop_prefix = account.replace("：", ":").split(":", 1)[0] + ":" if ":" in account.replace("：", ":") else ""
            from_shop = bool(nick_from) and (
                nick_from == account or (nick_from.replace("：", ":").startswith(shop_prefix) if shop_prefix
                                         else shop_account(nick_from)))
            buyer_nick = nick_to if from_shop else nick_from
            # A buyer id the API gives beats a nickname (those may be masked: t**); without one on the
            # message, the session key (dataId = 日期_卖家_子账号_买家) carries it.
            key = str(m.get("_session") or "").split("_")
            buyer = (str(m.get("buyerId") or "").strip() or (key[3] if len(key) == 4 and key[3].isdigit() else "")
                     or buyer_nick)
            if "*" in buyer:
                masked.add(buyer)
            role = (("robot" if sender.is_robot(nick_from) else "agent") if from_shop else "buyer")
            text = str(m.get("msg") or "")
            if system_line(text):
                role = "system"
            at = _epoch_or_text(m.get("gmtCreated"))
            _message(out, number, buyer, role, nick_from if from_shop else None, at, text,
                     message_id=cell_text(m.get("msgId")), session_id=cell_text(m.get("_session")))
        if masked:
            out.notes.append(f"{len(masked)} 个买家昵称已脱敏（如 {sorted(masked)[0]}），相同脱敏昵称的会话可能属于不同买家")
        return out


def _epoch_or_text(value) -> str:
    """A dump's time: ``2026-11-09 09:59:20.000`` (milliseconds dropped), or epoch seconds/milliseconds (an
    instant, converted to the shop's time zone at import); anything else as written, rejected by its line."""
    text = str(value if value is not None else "").strip()
    if re.fullmatch(r"\d{10}(\d{3})?", text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat()
    return text[:19] if re.match(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\.\d+$", text) else text


# -- 拼多多 聊天记录查询: one getHistoryMessage body per order (shao-11/PDD-Merchant-Helper) ---------
def _pdd_list(doc) -> list | None:
    if not isinstance(doc, dict):
        return None
    for holder in (doc.get("result"), doc.get("data"), doc):
        if isinstance(holder, dict) and isinstance(holder.get("messageList"), list):
            return holder["messageList"]
    return None


class PddChatJson(Layout):
    key = "pdd_chat_json"
    table = "messages"
    label = "拼多多 聊天记录查询（每个订单一个 JSON）"
    source = "shao-11/PDD-Merchant-Helper、xiaoemoxiw/pdd-auto-reply（getHistoryMessage 响应）"

    def sniff(self, probe: Probe) -> bool:
        return probe.json is not None and _pdd_list(probe.json) is not None

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        import json

        out = self.converted(probe)
        out.unit = "条消息"
        doc = read_json(probe.path, probe.name, ctx.limits)
        result = doc.get("result") if isinstance(doc.get("result"), dict) else doc
        user = result.get("userInfo") if isinstance(result.get("userInfo"), dict) else {}
        sender = Sender(ctx.robot_names)
        masked = set()
        for number, item in enumerate(_pdd_list(doc) or [], start=1):
            try:
                m = json.loads(item) if isinstance(item, str) else item
            except json.JSONDecodeError as exc:
                raise ImportFailed(f"{probe.name}: messageList 第 {number} 条不是有效的 JSON（{exc.msg}）") from None
            if not isinstance(m, dict):
                out.exclude("不是消息的条目")
                continue
            frm = m.get("from") if isinstance(m.get("from"), dict) else {}
            role_code = str(frm.get("role") or "")
            try:
                ts = float(m.get("ts"))
                if ts > 1e11:  # milliseconds
                    ts /= 1000
                at = dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()
            except (TypeError, ValueError, OverflowError, OSError):
                at = cell_text(m.get("ts")) or ""  # rejected by its line, with the value, like any bad time
            text = str(m.get("content") or "")
            if role_code == "user":
                buyer = str(frm.get("uid") or user.get("uid") or m.get("nickname") or "")
                role, nick = "buyer", None
            else:
                to = m.get("to") if isinstance(m.get("to"), dict) else {}
                buyer = str(user.get("uid") or to.get("uid") or "")
                nick = str(frm.get("csid") or frm.get("cs_uid") or "").strip() or None
                robot = m.get("template_name") == "mall_robot_text_msg" or bool(m.get("show_auto")) \
                    or str(m.get("is_aut")) == "1" or (nick is not None and sender.is_robot(nick))
                if role_code == "mall_cs":
                    role = "robot" if robot else "agent"
                    nick = nick or ("拼多多机器人" if robot else None)
                    if role == "agent" and nick is None:
                        role, nick = "system", None
                else:
                    role, nick = "system", None
            if role == "buyer" and (m.get("type") not in (0, "0", None) and system_line(text)):
                role = "system"
            if not buyer:
                raise ImportFailed(f"{probe.name}: messageList 第 {number} 条找不到买家（userInfo.uid）")
            if "*" in str(m.get("nickname") or user.get("nickName") or ""):
                masked.add(str(user.get("nickName") or m.get("nickname")))
            ctype = "image" if str(m.get("type")) == "1" else None
            _message(out, number, buyer, role, nick, at, text, message_id=cell_text(m.get("msg_id")),
                     content_type=ctype)
        if masked:
            out.notes.append("买家昵称已脱敏（如 " + sorted(masked)[0] + "），按买家 uid 区分")
        return out


# -- JDDC research release (chat.txt): no times, refused with the reason -----------------------
class JddcTsv(Layout):
    key = "jddc_tsv"
    table = "messages"
    label = "京东 JDDC 对话语料（制表符分隔）"
    source = "JDDC 2019 大赛 chat.txt（EndlessLethe/jddc2019-3th-retrieve-model 的 JDDC_readme.txt）"

    def sniff(self, probe: Probe) -> bool:
        if probe.suffix not in (".txt", ".tsv") or not probe.text:
            return False
        lines = [x for x in probe.text.splitlines()[:20] if x.strip()]
        fields = [x.split("\t") for x in lines]
        return bool(fields) and sum(1 for f in fields if len(f) >= 7 and f[2] in ("0", "1")) >= max(1, len(fields) * 3 // 4)

    def convert(self, probe: Probe, ctx: LayoutContext) -> Converted:
        raise ImportFailed(f"{probe.name}: 识别为{self.label}（会话编号、顾客ID、是否客服发送、内容），但文件没有消息时间："
                           "缺少 发送时间，响应时长、3 分钟回复率、会话切分都无法计算，因此不能导入。"
                           "请改用带时间的聊天记录导出")
