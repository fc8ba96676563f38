"""Metric values from the additive parts: any period and filters are sums of parts.

``MetricEngine`` sums measures in SQL (one GROUP BY per request) and evaluates every
registry metric from the sums, with the reason whenever a value is unavailable.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from insight.core.access import LOCAL, Viewer
from insight.core.errors import Forbidden, UsageError
from insight.core.filters import CHANNELS, HOURS, STAGES, Filters
from insight.core.periods import TREND_GRAINS, Period, change, coverage_reason, trend_window
from insight.core.schema import SQUARE_UNIT_SECONDS, table_label
from insight.core.settings import FCR_WINDOW_HOURS, SalesSettings
from insight.derive import MEASURE_DECIMAL, refresh_sales
from insight.metrics import stats
from insight.metrics.registry import Metric, registry

__all__ = ["MetricValue", "MetricEngine", "MIN_PEERS", "PEER_PERCENTILES", "peer_percentiles", "change_is_real", "interval_of", "squared_seconds"]

MIN_PEERS = 5
# Percentiles of peer shop values: (peer average, peer excellent) by direction.
PEER_PERCENTILES = {"up": (60, 90), "down": (40, 10)}
_FILTER_LABELS = {"channel": CHANNELS, "stage": STAGES, "hours": HOURS}


@dataclass
class MetricValue:
    key: str
    value: float | None
    reason: str | None = None
    numerator: float | None = None
    denominator: float | None = None
    pending: float | None = None
    is_amount: bool = False  # a sum of money: no unit count behind it
    squares: float | None = None  # a duration mean's Σ of squared seconds (its interval and test)

    @property
    def n(self) -> float | None:
        """Sample size behind the value: the denominator's unit count, or the count itself; None for
        an amount (its sum is not a number of units)."""
        if self.denominator is not None:
            return self.denominator
        return None if self.is_amount else self.numerator


def peer_percentiles(values, direction: str) -> tuple[float | None, float | None]:
    """(peer average, peer excellent) of the benchmark shops' ``values`` (METRICS.md: linear
    interpolation; 60th/90th for ↑ metrics, 40th/10th for ↓); (None, None) under ``MIN_PEERS`` values."""
    values = np.asarray(values, dtype=float)
    if len(values) < MIN_PEERS or direction not in PEER_PERCENTILES:
        return None, None
    p_avg, p_exc = PEER_PERCENTILES[direction]
    return float(np.percentile(values, p_avg)), float(np.percentile(values, p_exc))


def _add(cols: dict, names, n: int) -> np.ndarray:
    out = np.zeros(n)
    for name in names:
        out = out + cols[name]
    return out


def _none_if_nan(x):
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


class MetricEngine:
    """Computes registry metrics for a store. Cheap to create; holds per-store caches.

    Every read is checked against the engine's viewer (``scoped``): shops outside the viewer's
    scope raise ``Forbidden``; an agent viewer reads their shop's totals (their comparison) and their
    own figures, never another agent's. Peer benchmarks are percentiles over ≥ ``MIN_PEERS`` shops,
    never one other shop's figure. A bare engine is the local process's (CLI, derivation).
    """

    def __init__(self, store, viewer: Viewer = LOCAL):
        self.store = store
        self.con = store.con
        self.reg = registry()
        self.viewer = viewer
        self._present = None
        self._live_sales: dict[str, set[str]] = {}

    def scoped(self, viewer: Viewer) -> "MetricEngine":
        """The same engine (and caches) reading for ``viewer``."""
        other = copy.copy(self)
        other.viewer = viewer
        return other

    def _allow(self, shop_id: str, agent: str | None = None) -> None:
        self.viewer.require_shop(shop_id)
        if self.viewer.role == "agent" and agent is not None and agent != self.viewer.agent_id:
            raise Forbidden("客服账号只能查看本人的数据")

    def _scope_shops(self, shops: list[str] | None) -> list[str] | None:
        if shops is None:
            return None if self.viewer.shops is None else sorted(self.viewer.shops)
        for shop in shops:
            self.viewer.require_shop(shop)
        return shops

    # -- inputs ------------------------------------------------------------------
    @property
    def present_tables(self) -> set[str]:
        if self._present is None:
            self._present = self.store.present_tables()
        return self._present

    def _sales_table(self, settings: SalesSettings, shops: list[str] | None) -> str:
        settings.validate()
        built = self.store.parts_manifest
        if built is not None:
            # A parts folder holds the sales parts of the settings it was built with, and no base rows.
            if settings.key != built.get("sales_settings"):
                raise UsageError(f"部件目录只含销售口径 {built.get('sales_settings')} 的部件，而所选口径为 "
                                 f"{settings.key}；请用相同口径运行 build-parts，或在导入的数据库上计算")
            return "parts_sales"
        if settings.key == SalesSettings().key:
            return "parts_sales"
        # Other settings are derived on demand, per shop, into a connection-local table, so a
        # read-only store (the app) can answer them and a settings change costs one shop's work.
        wanted = set(shops) if shops is not None else set(self.store.shops()["shop_id"])
        done = self._live_sales.setdefault(settings.key, set())
        missing = sorted(wanted - done)
        if missing:
            self.con.execute("CREATE TEMP TABLE IF NOT EXISTS parts_sales_live AS "
                             "SELECT * FROM parts_sales WHERE false")
            refresh_sales(self.con, settings, shops=missing, table="parts_sales_live")
            done.update(missing)
        return "parts_sales_live"

    def sum_arrays(self, shops: list[str] | None, period: Period, filters: Filters,
                   settings: SalesSettings | None = None, group_by: str | None = None,
                   tables: tuple[str, ...] = ("parts", "parts_sales"), _checked: bool = False):
        """(group keys, {measure: numpy array}) — Σ of every measure per group.

        ``group_by``: None (one group), 'shop', 'agent', 'segment' (channel|stage), a trend grain, or
        'shop:<grain>'. With an agent filter, or grouped by agent, measures with an agent view read it.
        ``tables``: the parts tables to read (measures of the others are 0). Numpy, not pandas: this is
        the hot path. ``_checked``: the caller has checked the scope itself (the peer percentiles' read
        of the group, never returned shop by shop; an agent viewer's own row of the by-agent sums).
        """
        settings = settings or SalesSettings()
        filters.validate()
        if not _checked:
            shops = self._scope_shops(shops)
            if self.viewer.role == "agent" and (group_by == "agent" or filters.agent not in (None, self.viewer.agent_id)):
                raise Forbidden("客服账号只能查看本人的数据")
        agent_view = filters.agent is not None or group_by == "agent"
        group_sql = {None: "'all'", "shop": "shop_id", "agent": "agent_id",
                     "segment": "channel || '|' || stage"}.get(group_by)
        if group_by and group_by.startswith("shop:"):  # shop × trend bucket, for peer trends
            group_sql = f"shop_id || '|' || CAST({TREND_GRAINS[group_by[5:]][2]} AS VARCHAR)"
        elif group_sql is None:
            group_sql = TREND_GRAINS[group_by][2]
        results = []
        skipped = [m for m in self.reg.measures.values() if m.table not in tables]
        for table in tables:
            names = [m for m in self.reg.measures.values() if m.table == table]
            # Summed as exact decimals: the same figure whatever the order of the rows (derive.MEASURE_DECIMAL).
            cols = ", ".join(
                f"coalesce(sum(CAST({(m.agent_variant if agent_view and m.agent_variant else m.name)} "
                f"AS {MEASURE_DECIMAL})), 0) AS {m.name}" for m in names)
            where, params = ["day BETWEEN ? AND ?"], [period.start, period.end]
            source = table
            if table == "parts_sales":
                source = self._sales_table(settings, shops)
                where.append("settings_key = ?")
                params.append(settings.key)
            if shops is not None and len(shops) == 1:
                where.append("shop_id = ?")
                params.append(shops[0])
            elif shops is not None:
                where.append("shop_id IN (SELECT unnest(?::VARCHAR[]))")
                params.append(list(shops))
            clauses, values = filters.sql_where()
            where += clauses
            params += values
            sql = f"SELECT {group_sql} AS g, {cols} FROM {source} WHERE {' AND '.join(where)} GROUP BY g"
            results.append((names, self.con.execute(sql, params).fetchnumpy()))
        if group_by is None:
            keys = ["all"]
        else:  # outer-join the two tables' groups
            keys = sorted({k for _, res in results for k in res["g"].tolist()},
                          key=lambda k: (k is None, k))
        position = {k: i for i, k in enumerate(keys)}
        out: dict[str, np.ndarray] = {}
        for names, res in results:
            rows = [position[k] for k in res["g"].tolist()]
            for m in names:
                col = np.zeros(len(keys))
                if rows:
                    col[rows] = np.asarray(res[m.name], dtype=float)
                out[m.name] = col
        for m in skipped:
            out[m.name] = np.zeros(len(keys))
        return keys, out

    def sums(self, shops: list[str] | None, period: Period, filters: Filters,
             settings: SalesSettings | None = None, group_by: str | None = None,
             tables: tuple[str, ...] = ("parts", "parts_sales"), _checked: bool = False) -> pd.DataFrame:
        """``sum_arrays`` as a DataFrame indexed by group."""
        keys, cols = self.sum_arrays(shops, period, filters, settings, group_by, tables, _checked)
        return pd.DataFrame(cols, index=pd.Index(keys, name="g"))

    # -- evaluation -----------------------------------------------------------------
    def _static_reason(self, metric: Metric, filters: Filters, grouped_by_agent: bool = False) -> str | None:
        for dim, bad in metric.not_applicable.items():
            if dim == "agent":
                if bad and (filters.agent is not None or grouped_by_agent):
                    return "该指标是店铺级指标，不按客服统计"
                continue
            value = getattr(filters, dim)
            if value in bad:
                label = _FILTER_LABELS[dim][value]
                return f"该指标不适用于“{label}”筛选"
        missing = [t for t in metric.requires if t not in self.present_tables]
        if missing:
            # Named as users know their files: 聊天记录 (messages), 订单 (orders), …
            what = "、".join(f"{table_label(t)}（{t}）" for t in missing)
            return f"没有导入{what}，无法计算：该指标需要这份数据（请在数据管理中导入）"
        if filters.stage != "all" and "orders" not in self.present_tables:
            return f"缺少 orders 表，无法区分售前/售后（售后 = 买家在会话前 {self.store.settings.stage_window_days} 天内有付款订单）"
        return None

    def evaluate(self, sums: pd.DataFrame, filters: Filters, grouped_by_agent: bool = False):
        """(values, reasons, numerators, denominators) frames, one column per metric."""
        cols = {c: sums[c].to_numpy(dtype=float) for c in sums.columns}
        values, reasons, nums, dens = self.evaluate_arrays(cols, len(sums), filters, grouped_by_agent)
        index = sums.index
        return (pd.DataFrame(values, index=index), pd.DataFrame(reasons, index=index),
                pd.DataFrame(nums, index=index), pd.DataFrame(dens, index=index))

    def evaluate_arrays(self, cols: dict, n: int, filters: Filters, grouped_by_agent: bool = False):
        """Every metric from summed measures: dicts of numpy arrays (values, reasons, nums, dens)."""
        values, reasons, nums, dens = {}, {}, {}, {}
        for metric in self.reg:
            k = metric.key
            num = _add(cols, metric.numerator, n)
            den = _add(cols, metric.denominator, n) if metric.denominator else None
            nums[k] = num
            if den is not None:
                dens[k] = den
            static = self._static_reason(metric, filters, grouped_by_agent)
            if static:
                values[k] = np.full(n, np.nan)
                reasons[k] = np.full(n, static, dtype=object)
                continue
            if metric.type in ("count", "sum"):
                values[k] = num
                reasons[k] = np.full(n, None, dtype=object)
                continue
            ok = den > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
            values[k] = 1 - ratio if metric.complement else ratio
            reason = np.where(ok, None, f"所选范围内没有{metric.base}（分母为 0）").astype(object)
            if metric.pending:
                waiting = ~ok & (cols[metric.pending] > 0)
                reason[waiting] = f"会话距数据末尾不足 {FCR_WINDOW_HOURS} 小时，尚在观察期（待定），暂不能计算"
            reasons[k] = reason
        return values, reasons, nums, dens

    def compute(self, shop_id: str, period: Period, filters: Filters = Filters(),
                settings: SalesSettings | None = None) -> dict[str, MetricValue]:
        self._allow(shop_id, filters.agent)
        _, cols = self.sum_arrays([shop_id], period, filters, settings)
        values, reasons, nums, dens = self.evaluate_arrays(cols, 1, filters)
        out = {}
        for metric in self.reg:
            k = metric.key
            out[k] = MetricValue(
                key=k,
                value=_none_if_nan(values[k][0]),
                reason=reasons[k][0],
                numerator=float(nums[k][0]),
                denominator=float(dens[k][0]) if k in dens else None,
                pending=float(cols[metric.pending][0]) if metric.pending else None,
                is_amount=metric.type == "sum",
                squares=squared_seconds(metric, cols[metric.squares][0]) if metric.squares else None,
            )
        return out

    def _partial_reason(self, shop_id: str, period: Period, previous: Period) -> str | None:
        """Why this period and the previous one cannot be compared (``periods.coverage_reason``)."""
        row = self.con.execute("SELECT CAST(data_start AS DATE), CAST(data_end AS DATE) FROM f_shop_span "
                               "WHERE shop_id = ?", [shop_id]).fetchone()
        return coverage_reason(period, previous, *(row or (None, None)))

    # -- peers ----------------------------------------------------------------------
    def peer_shops(self, shop_id: str) -> list[str]:
        """The shop's peer group (同平台·同类目·同层级), for the local process: a viewer gets only
        the group's percentiles (``peers``), not who is in it."""
        self._allow(shop_id)
        shop = self.store.shop(shop_id)
        rows = self.con.execute(
            "SELECT shop_id FROM shops WHERE platform = ? AND category = ? AND tier = ? ORDER BY shop_id",
            [shop["platform"], shop["category"], shop["tier"]]).fetchall()
        return [r[0] for r in rows]

    def benchmark_shops(self, shop_id: str) -> list[str]:
        """The shops whose values make the peer percentiles this viewer sees: the whole group for an
        admin (METRICS.md, the shop itself included); for a scoped viewer only the group's shops
        outside their scope. A viewer knows (and can change, by importing) their own shops' values:
        percentiles over a group that mixes them with few others can be solved for the others' exact
        figures, percentiles over others alone cannot (docs/security.md: peer benchmarks)."""
        group = self.peer_shops(shop_id)
        if self.viewer.shops is None:
            return group
        return [s for s in group if s not in self.viewer.shops]

    def too_few_peers(self, n: int) -> str | None:
        """Why a benchmark over ``n`` shops with a value is not shown (None when it is)."""
        if n >= MIN_PEERS:
            return None
        if self.viewer.shops is None:
            return f"同行同层店铺不足 {MIN_PEERS} 家（有数据的 {n} 家）"
        return (f"同行同层中您权限以外、有数据的店铺不足 {MIN_PEERS} 家（{n} 家）：为保护其他店铺的数据，"
                "不显示同行基准")

    def peers(self, shop_id: str, period: Period, filters: Filters = Filters(),
              settings: SalesSettings | None = None) -> dict[str, dict]:
        """同行同层: {key: {peer_avg, peer_excellent, n_shops, source, reason}} over ``benchmark_shops``."""
        self._allow(shop_id)
        shop = self.store.shop(shop_id)
        group = self.benchmark_shops(shop_id)
        shop_filters = filters.without_agent()
        sums = self.sums(group, period, shop_filters, settings, group_by="shop", _checked=True)
        values, _, _, _ = self.evaluate(sums, shop_filters)
        imported = self._imported_peers(shop, period) if shop_filters == Filters() else {}
        out = {}
        for metric in self.reg:
            entry = {"peer_avg": None, "peer_excellent": None, "n_shops": 0, "source": "computed",
                     "reason": None}
            if metric.key in imported:
                avg, exc = imported[metric.key]
                entry.update(peer_avg=avg, peer_excellent=exc, source="imported")
            elif metric.direction == "none":
                entry["reason"] = "该指标没有好坏方向，不设同行基准"
            else:
                col = values[metric.key] if metric.key in values else pd.Series(dtype=float)
                vals = col.dropna().to_numpy(dtype=float)
                entry["n_shops"] = int(len(vals))
                entry["reason"] = self._static_reason(metric, shop_filters) or self.too_few_peers(len(vals))
                if entry["reason"] is None:
                    entry["peer_avg"], entry["peer_excellent"] = peer_percentiles(vals, metric.direction)
            out[metric.key] = entry
        return out

    def peer_trend(self, shop_id: str, grain: str, end: dt.date, keys, filters: Filters = Filters(),
                   settings: SalesSettings | None = None, start: dt.date | None = None) -> dict[str, pd.DataFrame]:
        """Peer average and excellent per trend bucket: {key: frame(bucket → peer_avg, peer_excellent)}.

        Each bucket takes the percentiles over the benchmark shops with a value in that bucket; a bucket
        with fewer than ``MIN_PEERS`` such shops has none.
        """
        window = trend_window(grain, end, start)
        shop_filters = filters.without_agent()
        sums = self.sums(self.benchmark_shops(shop_id), window, shop_filters, settings, group_by=f"shop:{grain}",
                         _checked=True)
        values, _, _, _ = self.evaluate(sums, shop_filters)
        buckets = pd.Index(_bucket_starts(grain, window), dtype=object)
        bucket_of = pd.Series([dt.date.fromisoformat(g.split("|", 1)[1][:10]) for g in values.index],
                              index=values.index)
        out = {}
        for key in keys:
            metric = self.reg[key]
            frame = pd.DataFrame(index=buckets, columns=["peer_avg", "peer_excellent"], dtype=float)
            if metric.direction != "none" and key in values:
                for bucket, vals in values[key].groupby(bucket_of):
                    vals = vals.dropna().to_numpy(dtype=float)
                    if len(vals) >= MIN_PEERS and bucket in frame.index:
                        frame.loc[bucket] = list(peer_percentiles(vals, metric.direction))
            frame.index.name = "bucket"
            out[key] = frame
        return out

    def _imported_peers(self, shop: dict, period: Period) -> dict[str, tuple]:
        rows = self.con.execute(
            "SELECT metric, peer_avg, peer_excellent FROM peers WHERE platform = ? AND category = ? AND tier = ? "
            "AND period_start = ? AND period_end = ?",
            [shop["platform"], shop["category"], shop["tier"], period.start, period.end]).fetchall()
        return {m: (a, e) for m, a, e in rows if m in self.reg.metrics}

    # -- views the pages and the CLI need ---------------------------------------------
    def trend(self, shop_id: str, grain: str, end: dt.date, filters: Filters = Filters(),
              settings: SalesSettings | None = None, with_n: bool = False, start: dt.date | None = None):
        """Values and reasons per bucket (every bucket of the window present, empty ones null) up to
        ``end``, from ``start``'s bucket (``periods.trend_window``); ``with_n`` adds each value's
        sample size (denominator, or the count itself)."""
        self._allow(shop_id, filters.agent)
        window = trend_window(grain, end, start)
        sums = self.sums([shop_id], window, filters, settings, group_by=grain)
        buckets = _bucket_starts(grain, window)
        sums.index = pd.Index([pd.Timestamp(x).date() for x in sums.index], dtype=object)
        sums = sums.reindex(pd.Index(buckets, dtype=object), fill_value=0.0)
        values, reasons, nums, dens = self.evaluate(sums, filters)
        values.index.name = reasons.index.name = "bucket"
        if with_n:
            n = nums.copy()
            n[dens.columns] = dens
            n.index = values.index
            return values, reasons, n
        return values, reasons

    def split(self, shop_id: str, period: Period, key: str, hours: str = "all") -> pd.DataFrame:
        """``key`` for 人工/机器人 × 全部/售前/售后 from one grouped sum: channel, stage, value, n, reason."""
        self._allow(shop_id)
        metric = self.reg[key]
        table = self.reg.measures[metric.numerator[0]].table
        keys, cols = self.sum_arrays([shop_id], period, Filters(hours=hours), group_by="segment", tables=(table,))
        rows = []
        for channel in ("manual", "robot"):
            for stage in ("all", "presale", "aftersale"):
                # 'all' takes every stage value of the channel, as the filter does (facts without a
                # stage are stored as 'none').
                idx = [i for i, g in enumerate(keys)
                       if g is not None and g.split("|")[0] == channel and stage in ("all", g.split("|")[1])]
                one = {name: np.array([col[idx].sum()]) for name, col in cols.items()}
                values, reasons, nums, dens = self.evaluate_arrays(one, 1, Filters(channel, stage, hours))
                n = dens[key][0] if key in dens else nums[key][0]
                rows.append({"channel": CHANNELS[channel], "stage": STAGES[stage],
                             "value": _none_if_nan(values[key][0]), "n": float(n), "reason": reasons[key][0]})
        return pd.DataFrame(rows).astype({"value": float})

    def by_agent(self, shop_id: str, period: Period, filters: Filters = Filters(),
                 settings: SalesSettings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per agent of the shop; an agent viewer gets their own row only."""
        self._allow(shop_id)
        if self.viewer.role == "agent":
            sums = self.sums([shop_id], period, filters, settings, group_by="agent", _checked=True)
            sums = sums[sums.index == self.viewer.agent_id]
        else:
            sums = self.sums([shop_id], period, filters, settings, group_by="agent")
        sums = sums[sums.index.notna()]
        values, _, nums, dens = self.evaluate(sums, filters, grouped_by_agent=True)
        return values, dens

    def report(self, shop_id: str, period: Period, filters: Filters = Filters(),
               settings: SalesSettings | None = None) -> dict:
        """Everything ``metrics --json`` prints: values, reasons, previous period, peers."""
        settings = settings or SalesSettings()
        self._allow(shop_id, filters.agent)
        self.store.shop(shop_id)  # raises UsageError for an unknown shop
        current = self.compute(shop_id, period, filters, settings)
        prev_period = period.previous()
        previous = self.compute(shop_id, prev_period, filters, settings)
        peers = self.peers(shop_id, period, filters, settings)
        partial = self._partial_reason(shop_id, period, prev_period)
        change_of = {k: None if partial else change(current[k].value, previous[k].value, is_rate=self.reg[k].is_rate)
                     for k in current}
        return {
            "shop_id": shop_id,
            "period": {"start": str(period.start), "end": str(period.end)},
            "previous_period": {"start": str(prev_period.start), "end": str(prev_period.end)},
            "filters": asdict(filters),
            "settings": asdict(settings),
            "metrics": {k: v.value for k, v in current.items()},
            "unavailable": {k: v.reason for k, v in current.items() if v.value is None and v.reason},
            "n": {k: v.n for k, v in current.items()},
            "previous": {k: v.value for k, v in previous.items()},
            "change": change_of,
            # why a 环比 is not given (a period the data covers only in part), or None
            "change_reason": partial,
            "previous_n": {k: v.n for k, v in previous.items()},
            # the 95 % interval (rates: Wilson; duration means: t) and whether the 环比 is beyond chance
            # (two-proportion test; Welch's t-test)
            "interval": {k: interval_of(current[k]) for k in current},
            "change_significant": {k: change_is_real(current[k], previous[k]) if change_of[k] is not None else None
                                   for k in current},
            "peers": {k: {"peer_avg": p["peer_avg"], "peer_excellent": p["peer_excellent"]}
                      for k, p in peers.items()},
            "peers_info": {k: {"n_shops": p["n_shops"], "source": p["source"], "reason": p["reason"]}
                           for k, p in peers.items()},
        }


def _successes(value: MetricValue) -> tuple[float, float] | None:
    """(successes, units) behind a rate: the numerator, or for a complement (1 − x) what it leaves."""
    if value.value is None or not value.denominator:
        return None
    k = value.denominator - value.numerator if registry()[value.key].complement else value.numerator
    return k, value.denominator


def squared_seconds(metric: Metric, summed: float) -> float:
    """A duration mean's summed squares measure in seconds² (it is stored in its unit², SQUARE_UNIT_SECONDS)."""
    return float(summed) * SQUARE_UNIT_SECONDS[metric.squares] ** 2


def _spread(value: MetricValue) -> tuple[float, float, float] | None:
    """(Σx, Σx², n) behind a duration mean."""
    if value.value is None or value.squares is None or not value.denominator:
        return None
    return value.numerator, value.squares, value.denominator


def interval_of(value: MetricValue) -> list[float] | None:
    """The 95 % interval of a value: Wilson for a rate, Student's t for a duration mean, else None."""
    if registry()[value.key].is_rate:
        counts = _successes(value)
        bounds = stats.wilson(*counts) if counts else None
    else:
        spread = _spread(value)
        bounds = stats.mean_interval(*spread) if spread else None
    return None if bounds is None else [bounds[0], bounds[1]]


def change_is_real(now: MetricValue, before: MetricValue) -> bool | None:
    """Whether a value moved beyond chance against an earlier one (p < 0.05): the two-proportion test for a
    rate, Welch's t-test for a duration mean; None where there is nothing to test (counts, amounts)."""
    if registry()[now.key].is_rate:
        a, b = _successes(now), _successes(before)
        return None if a is None or b is None else stats.changed(*a, *b)
    a, b = _spread(now), _spread(before)
    return None if a is None or b is None else stats.means_differ(a, b)


def _bucket_starts(grain: str, window: Period) -> list[dt.date]:
    out, day = [], window.start
    while day <= window.end:
        if grain == "day":
            out.append(day)
            day += dt.timedelta(days=1)
        elif grain == "week":
            out.append(day - dt.timedelta(days=day.weekday()))
            day = out[-1] + dt.timedelta(days=7)
        else:
            out.append(day.replace(day=1))
            day = (out[-1] + dt.timedelta(days=32)).replace(day=1)
    return out
