"""Who sent a message, from what a platform's chat export has.

Exports say it in one of three ways: a role word (买家/客服/机器人/系统, handled with the other
value synonyms), a direction code (0/1), or only the sender's nickname. With nicknames, the shop's
own accounts are written ``店铺名:子账号`` (an agent), a few names are robots (listed, or containing
a marker such as 机器人), and everyone else is a buyer; the buyer of an agent's message is then the
receiver (接收人). A ``RoleRule`` holds those choices; presets carry their own.

The rule reaches SQL as values in a one-row table (``rule_params``), never as SQL text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from insight.core.errors import UsageError

__all__ = ["RoleRule", "ROLE_CODES", "ROLE_WORDS", "RULE_PARAMS_DDL", "role_wrap_sql", "nicknames_sql"]

ROLE_CODES = ("buyer", "agent", "robot", "system")
# Role words exports write for the sender (also inside nickname columns: 系统 for notices).
ROLE_WORDS = {"买家": "buyer", "顾客": "buyer", "用户": "buyer", "客户": "buyer", "客服": "agent", "人工": "agent",
              "商家": "agent", "机器人": "robot", "系统": "system"}


@dataclass(frozen=True)
class RoleRule:
    # Codes an export uses for the sender, e.g. direction 0 = the buyer wrote, 1 = the shop wrote.
    values: dict[str, str] = field(default_factory=lambda: {"0": "buyer", "1": "agent"})
    # A nickname containing this is one of the shop's accounts (店铺名:子账号); full-width ： counts too.
    agent_marker: str = ":"
    robots: tuple[str, ...] = ()  # nicknames that are robots
    robot_marker: str = "机器人"  # a nickname containing this is a robot ('' = none)

    def validate(self) -> "RoleRule":
        bad = sorted({v for v in self.values.values() if v not in ROLE_CODES})
        if bad:
            raise UsageError(f"发送方代码只能对应 {', '.join(ROLE_CODES)}，收到 {', '.join(bad)}")
        if not self.agent_marker.strip():
            raise UsageError("店铺账号的标志（如“:”）不能为空")
        return self

    def to_dict(self) -> dict:
        out = asdict(self)
        out["robots"] = list(self.robots)
        return out

    @classmethod
    def from_dict(cls, data: dict | None) -> "RoleRule":
        if not data:
            return cls()
        base = cls()
        return cls(values={str(k): str(v) for k, v in data.get("values", base.values).items()},
                   agent_marker=str(data.get("agent_marker", base.agent_marker)),
                   robots=tuple(str(r) for r in data.get("robots", ())),
                   robot_marker=str(data.get("robot_marker", base.robot_marker))).validate()

    @staticmethod
    def parse_codes(text: str) -> tuple[dict[str, str], list[str]]:
        """``0=buyer, 1=agent`` (either comma) → ({code: role}, the items that are not code=role)."""
        values, bad = {}, []
        for item in text.replace("，", ",").split(","):
            code, _, role = item.partition("=")
            if code.strip() and role.strip() in ROLE_CODES:
                values[code.strip()] = role.strip()
            elif item.strip():
                bad.append(item.strip())
        return values, bad

    def codes_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items())

    @property
    def account_marker(self) -> str:
        """The agent marker as compared (full-width ： read as :, like the nicknames)."""
        return self.agent_marker.replace("：", ":")

    def params(self) -> list:
        """The values of one ``rule_params`` row: keys, roles, robots, robot marker, agent marker."""
        keys = list(self.values)
        return [keys, [self.values[k] for k in keys], list(self.robots), self.robot_marker, self.account_marker]


RULE_PARAMS_DDL = ("(file_idx INTEGER, value_keys VARCHAR[], value_roles VARCHAR[], robots VARCHAR[], "
                   "robot_marker VARCHAR, agent_marker VARCHAR)")


def role_wrap_sql(part: str, file_idx: int, rules: str, has_receiver: bool, nicknames: bool) -> str:
    """``part`` (raw message rows r_*) with sender_role, agent_id and buyer_id resolved by the file's
    rule in ``rules`` (a table of RULE_PARAMS_DDL). ``nicknames``: the file's sender column holds shop
    accounts (``nicknames_sql`` says so), so it is read as nicknames; otherwise only codes are translated."""
    sender = "p.r_sender_role"
    nick = str(bool(nicknames)).lower()
    words = ", ".join(f"'{w}'" for w in [*ROLE_WORDS, *ROLE_CODES])  # constants of this module
    code = f"list_position(rr.value_keys, {sender})"
    role = (f"CASE WHEN {code} > 0 THEN rr.value_roles[{code}] "
            f"WHEN NOT {nick} OR {sender} IN ({words}) THEN {sender} "
            f"WHEN list_contains(rr.robots, {sender}) "
            f"OR list_contains(rr.robots, regexp_replace({sender}, '^.*[:：]', '')) "
            f"OR (rr.robot_marker <> '' AND strpos({sender}, rr.robot_marker) > 0) THEN 'robot' "
            f"WHEN strpos(replace({sender}, '：', ':'), rr.agent_marker) > 0 THEN 'agent' ELSE 'buyer' END")
    receiver = "r_receiver" if has_receiver else "CAST(NULL AS VARCHAR)"
    aux = ", r_receiver" if has_receiver else ""
    idx = int(file_idx)
    return f"""SELECT * EXCLUDE (_role, file_idx, value_keys, value_roles, robots, robot_marker,
                                 agent_marker{aux}) REPLACE (
            _role AS r_sender_role,
            CASE WHEN {nick} AND _role IN ('agent', 'robot') THEN coalesce(r_agent_id, r_sender_role)
                 ELSE r_agent_id END AS r_agent_id,
            CASE WHEN {nick} AND r_buyer_id IS NULL
                 THEN CASE WHEN _role = 'buyer' THEN r_sender_role ELSE {receiver} END
                 ELSE r_buyer_id END AS r_buyer_id)
        FROM (SELECT p.*, rr.*, {role} AS _role FROM ({part}) p
              JOIN {rules} rr ON rr.file_idx = {idx}) q"""


def nicknames_sql(relation: str, column: str) -> str:
    """One value: whether ``column`` of ``relation`` (a staged file's sender column) holds shop accounts;
    the marker is the statement's parameter."""
    return (f"SELECT coalesce(bool_or(strpos(replace(CAST({column} AS VARCHAR), '：', ':'), ?) > 0), false) "
            f"FROM {relation}")
