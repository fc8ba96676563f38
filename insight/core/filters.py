"""The filters every view shares (人工/机器人, 售前/售后, 全天/工作时间/非工作时间, one agent) and the
SQL they become: WHERE clauses over the parts' grain, the hours bucket, the evaluation filter."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError
from .settings import WORK_END_HOUR, WORK_START_HOUR

__all__ = ["Filters", "CHANNELS", "STAGES", "HOURS", "hours_bucket_sql", "evaluation_where"]

CHANNELS = {"all": "全部", "manual": "人工", "robot": "机器人"}
STAGES = {"all": "全部", "presale": "售前", "aftersale": "售后"}
HOURS = {"all": "全天", "work": "工作时间", "off": "非工作时间"}


def hours_bucket_sql(ts: str) -> str:
    """'work' inside 考核时间 [08:00:00, 23:00:00), else 'off'."""
    return (f"CASE WHEN hour({ts}) >= {WORK_START_HOUR} AND hour({ts}) < {WORK_END_HOUR} "
            f"THEN 'work' ELSE 'off' END")


@dataclass(frozen=True)
class Filters:
    channel: str = "all"
    stage: str = "all"
    hours: str = "all"
    agent: str | None = None

    def validate(self) -> "Filters":
        for name, allowed in (("channel", CHANNELS), ("stage", STAGES), ("hours", HOURS)):
            value = getattr(self, name)
            if value not in allowed:
                raise UsageError(f"--{name} 应为 {'|'.join(allowed)}，收到 {value!r}")
        return self

    def sql_where(self, prefix: str = "") -> tuple[list[str], list]:
        """WHERE clauses (and their parameters) over the grain columns of parts tables."""
        where, params = [], []
        for dim in ("channel", "stage", "hours"):
            value = getattr(self, dim)
            if value != "all":
                where.append(f"{prefix}{dim} = ?")
                params.append(value)
        if self.agent is not None:
            where.append(f"{prefix}agent_id = ?")
            params.append(self.agent)
        return where, params

    def without_agent(self) -> "Filters":
        return Filters(self.channel, self.stage, self.hours, None)


def evaluation_where(filters: Filters, session: str) -> tuple[list[str], list]:
    """WHERE clauses for evaluations ``e`` joined to their session (alias prefix ``session``):
    channel, stage and agent from the session, the hours filter by invited_at (their anchor)."""
    where, params = Filters(filters.channel, filters.stage, "all", filters.agent).sql_where(session)
    if filters.hours != "all":
        where.append(f"({hours_bucket_sql('e.invited_at')}) = ?")
        params.append(filters.hours)
    return where, params
