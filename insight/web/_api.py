"""The HTTP API (``/api/v1``), for BI tools and the checks: JSON in, JSON out, errors as JSON."""

from __future__ import annotations

import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from insight import accounts
from insight.core.errors import Forbidden, InsightError, UsageError
from insight.core.filters import Filters
from insight.core.periods import Period, parse_date
from insight.core.settings import SalesSettings
from insight.metrics.engine import MetricEngine
from insight.present.exports import json_records, json_value, report_json

from ._auth import viewer_of
from ._db import shared_store

__all__ = ["api_routes", "METRICS_PARAMS"]

METRICS_PARAMS = ("shop", "start", "end", "channel", "stage", "hours", "agent", "attribution", "valid_days",
                  "followup_rule")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _metrics_args(query) -> tuple[str, Period, Filters, SalesSettings]:
    unknown = sorted(set(query) - set(METRICS_PARAMS))
    if unknown:
        raise UsageError(f"未知参数: {', '.join(k[:40] for k in unknown[:5])}（可用: {', '.join(METRICS_PARAMS)}）")
    missing = [k for k in ("shop", "start", "end") if not query.get(k)]
    if missing:
        raise UsageError(f"缺少参数: {', '.join(missing)}")
    period = Period(parse_date(query["start"], "start"), parse_date(query["end"], "end"))
    filters = Filters(query.get("channel") or "all", query.get("stage") or "all", query.get("hours") or "all",
                      query.get("agent") or None).validate()
    defaults = SalesSettings()
    try:
        valid_days = int(query.get("valid_days") or defaults.valid_days)
    except ValueError:
        raise UsageError("valid_days 应为整数") from None
    followup = (query.get("followup_rule") or "on") != "off"
    settings = SalesSettings(query.get("attribution") or defaults.attribution, valid_days, followup).validate()
    return query["shop"], period, filters, settings


def api_routes(db_path: str):
    async def metrics(request: Request) -> Response:
        viewer = viewer_of(request.scope)
        try:
            shop, period, filters, settings = _metrics_args(request.query_params)
            viewer.require_agent(shop, filters.agent)  # before the shop is looked up: no probing other shops
        except Forbidden as exc:
            return _error(403, str(exc))
        except UsageError as exc:
            return _error(400, str(exc))

        def compute():
            with shared_store(db_path).cursor() as cursor:
                if filters.agent:
                    row = cursor.con.execute("SELECT shop_id FROM agents WHERE agent_id = ?", [filters.agent]).fetchone()
                    if row is None or not viewer.sees_shop(row[0]):
                        raise Forbidden(f"无权查看客服 {filters.agent}")
                    if row[0] != shop:
                        raise UsageError(f"客服 {filters.agent} 不属于店铺 {shop}")
                report = MetricEngine(cursor, viewer).report(shop, period, filters, settings)
                accounts.audit(cursor.con, viewer.name, "api", shop, f"metrics {period.start}..{period.end}")
                return report
        try:
            report = await run_in_threadpool(compute)
        except Forbidden as exc:
            return _error(403, str(exc))
        except UsageError as exc:
            return _error(404 if "未知店铺" in str(exc) else 400, str(exc))
        except InsightError as exc:
            return _error(500, str(exc))
        except Exception:  # noqa: BLE001 - an API answers JSON, whatever broke
            logging.getLogger(__name__).exception("metrics API")
            return _error(500, "内部错误，请查看服务器日志")
        return Response(report_json(report), media_type="application/json; charset=utf-8")

    async def live(request: Request) -> Response:
        from insight.analyses.live import live_snapshot, so_far

        viewer = viewer_of(request.scope)
        shop = request.query_params.get("shop")
        compare = request.query_params.get("compare", "0")
        if not shop or set(request.query_params) - {"shop", "compare"} or compare not in ("0", "1"):
            return _error(400, "参数应为 shop=店铺ID，可选 compare=1（今日至此对比昨日、上周同一时段）")
        try:
            viewer.require_shop(shop)
        except Forbidden as exc:
            return _error(403, str(exc))

        def snapshot():
            with shared_store(db_path).cursor() as cursor:
                cursor.shop(shop)
                snap = live_snapshot(MetricEngine(cursor), shop, viewer=viewer)
                if compare == "1" and snap["as_of"] is not None:
                    snap["so_far"] = so_far(MetricEngine(cursor), shop, snap["as_of"], viewer=viewer)
                return snap
        try:
            snap = await run_in_threadpool(snapshot)
        except UsageError as exc:
            return _error(404, str(exc))
        # Strict JSON: an unavailable figure is null (with its reason), a flag true/false, a count an integer.
        body = {"shop_id": shop, "as_of": json_value(snap["as_of"]), "shop": json_value(snap["shop"]),
                "agents": json_records(snap["agents"]), "arrivals": json_records(snap["arrivals"])}
        if "so_far" in snap:
            body["so_far"] = json_records(snap["so_far"])
        return Response(json.dumps(body, ensure_ascii=False, allow_nan=False),
                        media_type="application/json; charset=utf-8")

    async def not_found(request: Request) -> Response:
        return _error(404, f"没有这个接口: {request.url.path[:100]}（可用: /api/v1/metrics）")

    return [Route("/api/v1/metrics", metrics, methods=["GET"]), Route("/api/v1/live", live, methods=["GET"]),
            Route("/api/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
