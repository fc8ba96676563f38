"""Who is looking: a viewer's role and scope, checked by every library read of shop data.

Roles follow the platforms' accounts: ``admin`` is the 主账号 (every shop, users, settings, imports,
models); ``supervisor`` a 子账号 granted 服务洞察 for some shops (their agents and chats, imports for them
when granted); ``agent`` a 客服 (their own figures and chats in their shop, compared with the shop).
"""

from __future__ import annotations

from dataclasses import dataclass

from insight.core.errors import Forbidden

__all__ = ["ROLES", "ROLE_LABELS", "Viewer", "LOCAL", "OUTSIDE_SCOPE", "outside_scope_sql"]

ROLES = ("admin", "supervisor", "agent")
ROLE_LABELS = {"admin": "管理员（主账号）", "supervisor": "主管（子账号）", "agent": "客服"}


@dataclass(frozen=True)
class Viewer:
    """A signed-in user as the query layer sees it. ``shops`` None = every shop (admin only)."""

    name: str
    role: str
    shops: frozenset[str] | None = None
    agent_id: str | None = None
    pii: bool = False  # may read buyers' phone numbers, addresses, ID and card numbers unmasked
    can_import: bool = False

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role != "admin" and self.shops is None:
            raise ValueError("only an admin sees every shop")
        if self.role == "agent" and (not self.agent_id or len(self.shops or ()) != 1):
            raise ValueError("an agent viewer has one shop and an agent id")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def may_import(self) -> bool:
        return self.is_admin or (self.role == "supervisor" and self.can_import)

    def sees_shop(self, shop_id: str) -> bool:
        return self.shops is None or shop_id in self.shops

    def visible_shops(self, shop_ids) -> list[str]:
        """``shop_ids`` (in their order) that this viewer may see."""
        return [s for s in shop_ids if self.sees_shop(s)]

    def require_shop(self, shop_id: str) -> None:
        if not self.sees_shop(shop_id):
            raise Forbidden(f"无权查看店铺 {shop_id}")

    def require_agent(self, shop_id: str, agent_id: str | None) -> None:
        """A shop's view (``agent_id`` None) or one agent's: an agent viewer sees only their own."""
        self.require_shop(shop_id)
        if self.role == "agent" and agent_id != self.agent_id:
            raise Forbidden("客服账号只能查看本人的数据" if agent_id else "客服账号只能查看本人的数据（请选择本人）")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"仅管理员可以{what}")

    def scope_sql(self, column: str) -> tuple[str, list]:
        """A WHERE condition on ``column`` (a shop id column) and its parameters: TRUE for an admin."""
        if self.shops is None:
            return "TRUE", []
        return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [sorted(self.shops)]


# The local process: CLI commands and a server with no account yet, reachable from 127.0.0.1 only.
LOCAL = Viewer(name="本机", role="admin", pii=True, can_import=True)


# Why a scoped writer's row of another shop is refused: the same words whether that shop exists or not.
OUTSIDE_SCOPE = "无权导入店铺 '{}'（不在本账号授权的店铺中）"


def outside_scope_sql(column: str) -> str:
    """``OUTSIDE_SCOPE`` as a SQL expression over ``column`` (a generated or declared column name)."""
    head, tail = OUTSIDE_SCOPE.replace("'", "''").split("{}")
    return f"'{head}' || left({column}, 60) || '{tail}'"
