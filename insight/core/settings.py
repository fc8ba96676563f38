"""Settings and fixed rules (口径) that the derivation and the metrics share.

``StoreSettings`` change derived facts (a change re-derives the store); ``SalesSettings`` are
per query (客服绩效's attribution rule, valid days, follow-up rule). The constants are the
METRICS.md rules every layer reads, so a label and a computation never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

__all__ = ["DEFAULT_ROBOT_NAMES", "StoreSettings", "SalesSettings", "ATTRIBUTION_RULES", "REPLY_SLA_SECONDS", "FCR_WINDOW_HOURS",
           "RESOLUTION_LOOKBACK_DAYS", "WORK_START_HOUR", "WORK_END_HOUR", "work_hours_label"]

REPLY_SLA_SECONDS = 180  # 3 分钟
FCR_WINDOW_HOURS = 72
RESOLUTION_LOOKBACK_DAYS = 15
WORK_START_HOUR, WORK_END_HOUR = 8, 23  # 考核时间 [08:00:00, 23:00:00)

ATTRIBUTION_RULES = ("order", "payment", "order_first")

# Robot accounts as the platforms name them (a chat log naming senders by nickname: these are robots, the
# shop's other accounts are people). A store keeps its own list (``insight settings --robot-names``);
# the agents table's kind overrides both.
DEFAULT_ROBOT_NAMES = ("店小蜜", "阿里店小蜜", "小蜜", "机器人", "智能客服", "京小智", "飞鸽机器人", "服务助手",
                       "智能助手", "AI助手", "自动回复")


def work_hours_label() -> str:
    """考核时间 as users read it: 08:00:00–22:59:59."""
    return f"{WORK_START_HOUR:02d}:00:00–{WORK_END_HOUR - 1:02d}:59:59"


@dataclass(frozen=True)
class StoreSettings:
    """Settings that change derived facts; changing one re-derives the whole store."""

    stage_window_days: int = 21  # 售后: a paid order on D−N … D−1
    session_gap_minutes: int = 30  # exports without session ids: a longer gap opens a new session

    def validate(self) -> "StoreSettings":
        if not isinstance(self.stage_window_days, int) or not 1 <= self.stage_window_days <= 365:
            raise UsageError("stage_window_days 必须在 1–365 之间")
        if not isinstance(self.session_gap_minutes, int) or not 1 <= self.session_gap_minutes <= 1440:
            raise UsageError("session_gap_minutes 必须在 1–1440 之间")
        return self


@dataclass(frozen=True)
class SalesSettings:
    """客服绩效 settings: 下单/付款/下单优先判定, 询单有效时长, 客服主动跟进不算询单流失."""

    attribution: str = "order_first"
    valid_days: int = 2
    followup_not_loss: bool = True

    def validate(self) -> "SalesSettings":
        if self.attribution not in ATTRIBUTION_RULES:
            raise UsageError(f"--attribution 应为 {'|'.join(ATTRIBUTION_RULES)}，收到 {self.attribution!r}")
        if not isinstance(self.valid_days, int) or not 1 <= self.valid_days <= 30:
            raise UsageError(f"--valid-days 应为 1–30 的整数，收到 {self.valid_days!r}")
        return self

    @property
    def key(self) -> str:
        return f"attr={self.attribution};valid={self.valid_days};followup={int(self.followup_not_loss)}"
