"""Command line: ``python -m insight import|metrics|demo|settings|train|classify|evaluate|docs|users|serve|replay|alerts``.

Errors end with a non-zero exit and one line on stderr that says what to fix.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import sys
from pathlib import Path

from insight.core.errors import InsightError, UsageError
from insight.core.filters import CHANNELS, HOURS, STAGES
from insight.core.settings import ATTRIBUTION_RULES, SalesSettings, StoreSettings

__all__ = ["main", "run_beside", "FORWARDED"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        raise UsageError(f"参数错误: {message}（用 --help 查看用法）")


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--channel", default="all", choices=list(CHANNELS))
    p.add_argument("--stage", default="all", choices=list(STAGES))
    p.add_argument("--hours", default="all", choices=list(HOURS))
    p.add_argument("--agent", default=None, help="子账号 agent_id")
    p.add_argument("--attribution", default=SalesSettings.attribution, choices=list(ATTRIBUTION_RULES))
    p.add_argument("--valid-days", type=int, default=SalesSettings.valid_days, help="询单有效时长（天）")
    p.add_argument("--no-followup-rule", action="store_true",
                   help="关闭“客服主动跟进不算询单流失”")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m insight", description="服务洞察 · Service Insight")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("import", help="导入数据文件或目录到数据库")
    p.add_argument("paths", nargs="+")
    p.add_argument("--db", default=None, help="数据库文件（默认 $INSIGHT_DB 或 data/insight.duckdb）")
    p.add_argument("--replace", action="store_true", help="主键已存在且内容不同时覆盖旧行")
    p.add_argument("--shop", default=None, help="没有 shop_id 列的文件（平台按店铺导出的文件）属于哪个店铺")
    p.add_argument("--day", default=None,
                   help="文件本身没有日期时是哪一天的，YYYY-MM-DD：没有日期列、文件名也没有日期的平台客服报表，"
                        "时间只有时分秒的聊天记录（如千牛油猴脚本导出）；文件自带日期时以文件为准")
    p.add_argument("--report-dir", default=None, help="导入报告与被拒绝行的保存目录")
    p.add_argument("--json", action="store_true", help="以 JSON 输出导入报告")

    p = sub.add_parser("metrics", help="计算一个店铺一个周期的全部指标")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="数据目录：先导入临时内存库再计算")
    src.add_argument("--db", help="数据库文件")
    src.add_argument("--parts", help="部件目录（build-parts 的输出，DuckDB 或 Spark 计算）")
    p.add_argument("--shop", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    _add_filters(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("build-parts", help="校验数据集并在 DuckDB 或 Spark 上计算全部部件，写成按店铺、月份分区的 Parquet")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    p.add_argument("--input", required=True,
                   help="数据集目录（DATA.md 格式：CSV/XLSX/Parquet），或已校验的基础表目录（本机或 Spark 可读的 URI）")
    p.add_argument("--output", required=True, help="部件目录（Spark 可写到 hdfs://、s3a:// 等）；须为新目录或空目录")
    p.add_argument("--overwrite", action="store_true", help="替换 --output 中上次构建的部件（只含部件的目录）")
    p.add_argument("--master", default=None,
                   help="Spark master：local[2]、spark://主机:7077、yarn、k8s://…（spark-submit 提交时不填）")
    p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                   help="Spark 设置，可重复，如 spark.driver.memory=8g（spark-submit 提交时用它的 --conf）")
    p.add_argument("--shop", default=None, help="没有 shop_id 列的文件属于哪个店铺")
    p.add_argument("--stage-window-days", type=int, default=StoreSettings.stage_window_days,
                   help="售后判定：会话前多少天内有付款订单")
    p.add_argument("--session-gap-minutes", type=int, default=StoreSettings.session_gap_minutes,
                   help="没有会话编号的消息：间隔超过多少分钟另起会话")
    p.add_argument("--attribution", default=SalesSettings.attribution, choices=list(ATTRIBUTION_RULES))
    p.add_argument("--valid-days", type=int, default=SalesSettings.valid_days, help="询单有效时长（天）")
    p.add_argument("--no-followup-rule", action="store_true", help="关闭“客服主动跟进不算询单流失”")
    p.add_argument("--json", action="store_true", help="以 JSON 输出行数与耗时")

    p = sub.add_parser("weekly", help="生成店铺周报（HTML，可选 PDF）：核心指标与区间、趋势、标签、最差场景与例子、客服")
    p.add_argument("--db", required=True, help="数据库文件")
    p.add_argument("--shop", required=True)
    p.add_argument("--end", help="周期最后一天（默认：店铺数据的最后一天）")
    p.add_argument("--days", type=int, default=7, help="周期天数（默认 7）")
    p.add_argument("--out", required=True, help="输出目录（文件名自动生成）")
    p.add_argument("--pdf", action="store_true", help="同时用 Chromium 打印 PDF")

    p = sub.add_parser("demo", help="生成演示数据集（DATA.md 格式）")
    p.add_argument("--out", required=True)
    p.add_argument("--shops", type=int, default=40)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", default=None, help="最后一天 YYYY-MM-DD（默认昨天）")
    p.add_argument("--sessions-per-day", type=float, default=None, help="每店每天平均会话数")
    p.add_argument("--format", default="csv", choices=["csv", "parquet"])

    p = sub.add_parser("settings", help="查看或修改数据库级口径设置（修改后全部重新计算）")
    p.add_argument("--db", default=None)
    p.add_argument("--stage-window-days", type=int, default=None,
                   help="售后判定：会话前 N 天内有付款订单（默认 21）")
    p.add_argument("--session-gap-minutes", type=int, default=None,
                   help="没有会话ID的聊天记录：同一买家相邻消息间隔超过 N 分钟即为新会话（默认 30）")
    p.add_argument("--robot-names", default=None,
                   help="按昵称区分发送人的聊天记录中，哪些账号是机器人（逗号分隔，如 店小蜜,服务助手）；"
                        "客服表 agents 的 kind 优先；只影响之后的导入")

    p = sub.add_parser("train", help="训练咨询场景模型（固定随机种子，可复现）")
    p.add_argument("--db", default=None, help="同时使用该数据库中保存的场景纠正")
    p.add_argument("--out", default=None, help="模型文件（默认 data/scenarios/model.joblib）")

    p = sub.add_parser("classify", help="为聊天判定咨询场景（JSON lines 输入输出）")
    p.add_argument("--input", default=None, help="输入文件（默认标准输入）")
    p.add_argument("--output", default=None, help="输出文件（默认标准输出）")
    p.add_argument("--batch", type=int, default=2000, help="每批聊天数")

    p.add_argument("--model", default=None, help="模型文件（默认 data/scenarios/model.joblib）")

    p = sub.add_parser("scenarios", help="场景纠正：列出最值得确认的聊天、批量写入纠正")
    scen = p.add_subparsers(dest="scenarios_command", required=True, parser_class=_Parser)
    s = scen.add_parser("suggest", help="最值得确认的聊天（JSON lines：session_id、模型判定、前三个场景、相似聊天数）")
    s.add_argument("--db", default=None)
    s.add_argument("--shop", required=True)
    s.add_argument("--n", type=int, default=20)
    s.add_argument("--model", default=None, help="模型文件（默认 data/scenarios/model.joblib）")
    s = scen.add_parser("correct", help="批量写入纠正：JSON lines {\"session_id\", \"code\"[, \"shop_id\"]}，全部成功或全部不写")
    s.add_argument("--db", default=None)
    s.add_argument("--input", default=None, help="输入文件（默认标准输入）")

    p = sub.add_parser("evaluate", help="在带标注的对话集上评估场景模型")
    p.add_argument("--data", required=True, help="JSON lines：{id, messages, scenario}")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("docs", help="用指标注册表重新生成 docs/metrics.md 中的指标说明")
    p.add_argument("--file", default="docs/metrics.md", help="要更新的文件（默认 docs/metrics.md）")

    p = sub.add_parser("serve", help="启动网页应用（登录、权限、HTTP API）")
    p.add_argument("--db", default=None, help="数据库文件（默认 $INSIGHT_DB 或 data/insight.duckdb）")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认仅本机；对外提供请放在 HTTPS 反向代理之后）")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--max-upload-mb", type=int, default=None, help="单个上传文件上限（默认随本机内存）")
    p.add_argument("--parts", default=None,
                   help="部件目录（build-parts 的输出）：指标从它读取，账号与设置仍在 --db 中；此时不能导入")

    p = sub.add_parser("replay", help="把数据集的一天按时间顺序实时发送到服务（POST /api/v1/events），用于演示实时监控")
    p.add_argument("folder", help="DATA.md 格式的数据目录（如演示数据 data/demo）")
    p.add_argument("--url", required=True, help="服务地址，如 http://127.0.0.1:8501")
    p.add_argument("--token", required=True, help="API 令牌（python -m insight users token 名字）")
    p.add_argument("--speed", type=float, default=60.0, help="倍速（默认 60：一小时的事件一分钟发完）")
    p.add_argument("--day", default=None, help="回放哪一天 YYYY-MM-DD（默认消息最多的一天）")
    p.add_argument("--as-day", default="today",
                   help="把这一天的事件当作哪一天发生的（默认 today：今天，实时监控随之变化；ID 加日期后缀，"
                        "不与已导入的行冲突）；original：按原日期、原 ID 发送")

    p = sub.add_parser("alerts", help="查看或设置店铺的实时告警阈值与 webhook（钉钉/企业微信/飞书机器人）")
    p.add_argument("--shop", required=True)
    p.add_argument("--db", default=None)
    p.add_argument("--wait-seconds", type=int, default=None, help="买家等待超过多少秒告警（默认 180）")
    p.add_argument("--reply-rate", type=float, default=None, help="近 1 小时 3 分钟回复率低于多少告警（默认 0.8）")
    p.add_argument("--one-star", choices=["on", "off"], default=None, help="收到 1 分评价时告警（默认 on）")
    p.add_argument("--webhook", default=None, help="机器人 webhook 地址（空字符串 = 不发送）")
    p.add_argument("--kind", choices=["dingtalk", "wecom", "feishu", "json"], default=None)

    p = sub.add_parser("users", help="账号：新增、列出、改密码、删除、API 令牌、一次性登录链接")
    users = p.add_subparsers(dest="users_command", required=True, parser_class=_Parser)
    u = users.add_parser("add", help="新增账号（密码从标准输入读取）")
    u.add_argument("name")
    u.add_argument("--role", required=True, choices=["admin", "supervisor", "agent"])
    u.add_argument("--shops", default=None, help="授权的店铺，逗号分隔（主管必填）")
    u.add_argument("--agent", default=None, help="客服账号对应的客服ID")
    u.add_argument("--pii", action="store_true", help="可查看买家手机号、地址、证件号等（默认打码）")
    u.add_argument("--can-import", action="store_true", help="主管可导入其店铺的数据")
    for name, help_text in (("list", "列出账号"), ("set-password", "修改密码（新密码从标准输入读取）"),
                            ("remove", "删除账号（同时撤销其令牌）"), ("token", "生成新的 API 令牌并打印"),
                            ("revoke-tokens", "撤销该账号的全部 API 令牌"),
                            ("login-link", "打印一次性登录链接（有效若干分钟）")):
        u = users.add_parser(name, help=help_text)
        if name != "list":
            u.add_argument("name")
        if name == "login-link":
            u.add_argument("--base-url", default="http://127.0.0.1:8501")
            u.add_argument("--minutes", type=int, default=15)
    for u in users.choices.values():
        u.add_argument("--db", default=None, help="数据库文件（默认 $INSIGHT_DB 或 data/insight.duckdb）")
    return parser


def _cmd_import(args) -> int:
    import datetime as dt

    from insight.core.periods import parse_date
    from insight.ingest.importer import import_paths
    from insight.store import Store, default_db_path

    db = default_db_path(args.db)
    report_dir = (Path(args.report_dir) if args.report_dir
                  else db.parent / "imports" / dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    with Store(db) as store:
        report = import_paths(store, args.paths, replace=args.replace, progress=sys.stderr.isatty(),
                              report_dir=report_dir, shop=args.shop,
                              report_day=parse_date(args.day, "--day") if args.day else None)
    if args.json:
        print(json.dumps({**report.to_dict(), "summary": report.summary()}, ensure_ascii=False, indent=2, default=str))
    else:
        print(report.summary())
        print(f"用时 {report.seconds:.1f} 秒，数据库 {db}")
    return 0


def _cmd_metrics(args) -> int:
    from insight.core.filters import Filters
    from insight.core.periods import Period, parse_date
    from insight.ingest.importer import import_paths
    from insight.metrics.engine import MetricEngine
    from insight.store import Store

    period = Period(parse_date(args.start, "--start"), parse_date(args.end, "--end"))
    filters = Filters(args.channel, args.stage, args.hours, args.agent).validate()
    settings = SalesSettings(args.attribution, args.valid_days, not args.no_followup_rule).validate()
    if args.data:
        if not Path(args.data).exists():
            raise UsageError(f"--data 目录不存在: {args.data}")
        store = Store(None)
        import_paths(store, [args.data])
    elif args.parts:
        from insight.store import open_parts

        store = open_parts(args.parts)
    else:
        if not Path(args.db).exists():
            raise UsageError(f"--db 文件不存在: {args.db}")
        store = Store(args.db, read_only=True)
    with store:
        result = MetricEngine(store).report(args.shop, period, filters, settings)
    if args.json:
        from insight.present.exports import report_json

        print(report_json(result))
    else:
        from insight.metrics.registry import registry
        from insight.present.formatting import format_value

        for metric in registry():
            value = result["metrics"][metric.key]
            shown = format_value(metric, value) if value is not None else f"— {result['unavailable'].get(metric.key, '')}"
            print(f"{metric.name:<16}\t{shown}")
    return 0


def _cmd_build_parts(args) -> int:
    from insight.ingest.parts import build_parts

    settings = StoreSettings(args.stage_window_days, args.session_gap_minutes).validate()
    sales = SalesSettings(args.attribution, args.valid_days, not args.no_followup_rule).validate()
    conf = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("spark."):
            raise UsageError(f"--spark-conf 应为 spark.键=值，收到 {item[:60]!r}")
        conf[key] = value
    result = build_parts(args.input, args.output, engine=args.engine, master=args.master, shop=args.shop,
                         settings=settings, sales=sales, spark_conf=conf, overwrite=args.overwrite)
    summary = {"engine": result.engine, "output": str(result.output), "rows": result.rows,
               "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
               "rejected": result.report.rejected if result.report else 0}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        if result.report is not None:
            print(result.report.summary())
        print(f"部件已写入 {result.output}（引擎 {result.engine}，" +
              "，".join(f"{k} {v:.1f} 秒" for k, v in result.seconds.items()) + "）")
    return 0


def _cmd_weekly(args) -> int:
    import datetime as dt

    from insight.analyses.weekly import weekly_report
    from insight.core.access import LOCAL
    from insight.core.periods import Period, parse_date
    from insight.metrics.engine import MetricEngine
    from insight.present.exports import safe_filename
    from insight.present.pdf import PRINT_WIDTH_PX, html_to_pdf
    from insight.store import Store

    if not 1 <= args.days <= 366:
        raise UsageError("--days 应为 1–366")
    if not Path(args.db).exists():
        raise UsageError(f"--db 文件不存在: {args.db}")
    with Store(args.db, read_only=True) as store:
        store.shop(args.shop)
        end = parse_date(args.end, "--end") if args.end else store.data_range(args.shop)[1]
        if end is None:
            raise UsageError(f"店铺 {args.shop} 还没有聊天数据")
        period = Period(end - dt.timedelta(days=args.days - 1), end)
        report = weekly_report(MetricEngine(store), args.shop, period, viewer=LOCAL)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_filename("周报", args.shop, f"{period.start}~{period.end}")  # never a name from the data
    (out / f"{stem}.html").write_text(report.render(), encoding="utf-8")
    print(out / f"{stem}.html")
    if args.pdf:
        (out / f"{stem}.pdf").write_bytes(html_to_pdf(report.render(PRINT_WIDTH_PX)))
        print(out / f"{stem}.pdf")
    return 0


def _cmd_demo(args) -> int:
    from insight.core.periods import parse_date
    from insight.demo.generator import DemoConfig, write_demo

    cfg = DemoConfig(shops=args.shops, days=args.days, seed=args.seed,
                     end=parse_date(args.end, "--end") if args.end else None,
                     sessions_per_day=args.sessions_per_day, fmt=args.format)
    summary = write_demo(args.out, cfg)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def _cmd_settings(args) -> int:
    from dataclasses import asdict, replace

    from insight.derive import apply_settings
    from insight.store import Store, default_db_path

    db = default_db_path(args.db)
    if not db.exists():
        raise UsageError(f"数据库文件不存在: {db}")
    with Store(db) as store:
        before = settings = store.settings
        if args.stage_window_days is not None:
            settings = replace(settings, stage_window_days=args.stage_window_days)
        if args.session_gap_minutes is not None:
            settings = replace(settings, session_gap_minutes=args.session_gap_minutes)
        if args.robot_names is not None:
            names = store.save_robot_names(args.robot_names.replace("，", ",").split(","))
            from insight.accounts import audit

            audit(store.con, "本机", "settings", "robot_names", "、".join(names)[:500])
        if settings != before:
            apply_settings(store, settings)
            from insight.accounts import audit

            audit(store.con, "本机", "settings", "store", json.dumps(asdict(settings), ensure_ascii=False))
            if settings.session_gap_minutes != before.session_gap_minutes:
                # sessions cut again lost their scenarios: classify those (the others keep theirs)
                from insight.scenarios.model import load_model
                from insight.scenarios.store import reclassify

                reclassify(store.con, load_model())
        print(json.dumps({**asdict(settings), "robot_names": list(store.robot_names)}, ensure_ascii=False))
    return 0


def _cmd_train(args) -> int:
    """Train; with --db, learn the store's corrections and re-classify its sessions with the new model."""
    import time

    from insight.scenarios import model as scenarios

    t0 = time.perf_counter()
    if not args.db:
        model = scenarios.train(out=Path(args.out) if args.out else None)
        print(json.dumps({"version": model.version, "examples": model.n_examples, "corrections": 0,
                          "seconds": round(time.perf_counter() - t0, 1),
                          "path": str(args.out or scenarios.model_path())}, ensure_ascii=False))
        return 0
    from insight.scenarios.store import corrections_for_training, reclassify
    from insight.store import Store, default_db_path

    db = default_db_path(args.db)
    if not db.exists():
        raise UsageError(f"数据库文件不存在: {db}")
    with Store(db) as store:
        current = scenarios.load_model() if scenarios.model_path().exists() else None
        corrections = corrections_for_training(store.con, current)
        model = scenarios.train(corrections, out=Path(args.out) if args.out else None)
        trained = round(time.perf_counter() - t0, 1)
        result = reclassify(store.con, model)
        from insight.accounts import audit

        audit(store.con, "本机", "model", "scenarios", f"训练 {model.version}，纠正 {len(corrections)} 条")
    print(json.dumps({"version": model.version, "examples": model.n_examples, "corrections": len(corrections),
                      "seconds": trained, "reclassified": result["sessions"],
                      "path": str(args.out or scenarios.model_path())}, ensure_ascii=False))
    return 0


def _read_jsonl(handle, source: str):
    for n, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{source} 第 {n} 行不是合法的 JSON: {exc.msg}") from None
        if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
            raise UsageError(f"{source} 第 {n} 行应为 {{\"id\", \"messages\": [{{\"role\", \"content\"}}]}}")
        for m in row["messages"]:
            if not isinstance(m, dict) or m.get("role") not in ("buyer", "agent", "robot", "system"):
                raise UsageError(f"{source} 第 {n} 行: role 应为 buyer|agent|robot|system")
        yield row


def _model_of(args):
    """The model named by ``--model`` (never trained in its place), else the installed one."""
    from insight.scenarios import model as scenarios

    return scenarios.load_model(Path(args.model), train_if_missing=False) if args.model else scenarios.load_model()


def _cmd_classify(args) -> int:
    model = _model_of(args)
    source = args.input or "标准输入"
    src = open(args.input, encoding="utf-8") if args.input else sys.stdin
    dst = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        batch = []

        def flush():
            for row, result in zip(batch, model.classify([r["messages"] for r in batch])):
                dst.write(json.dumps(result.to_dict(row.get("id")), ensure_ascii=False) + "\n")
            batch.clear()

        for row in _read_jsonl(src, source):
            batch.append(row)
            if len(batch) >= args.batch:
                flush()
        flush()
    finally:
        if args.input:
            src.close()
        if args.output:
            dst.close()
    return 0


def _cmd_evaluate(args) -> int:
    from insight.scenarios import model as scenarios

    path = Path(args.data)
    if not path.exists():
        raise UsageError(f"评估数据不存在: {path}")
    with open(path, encoding="utf-8") as fh:
        rows = list(_read_jsonl(fh, str(path)))
    missing = [i for i, r in enumerate(rows, start=1) if r.get("scenario") not in scenarios.taxonomy().names]
    if missing:
        raise UsageError(f"{path} 第 {missing[0]} 行缺少合法的 scenario 代码")
    result = scenarios.evaluate_dialogues(scenarios.load_model(), rows)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
        return 0
    print(f"对话数 {result['n']}，{result['n'] / result['seconds']:.0f} 个/秒")
    for level, r in result["levels"].items():
        print(f"{level} 级  准确率 {r['accuracy']:.3f}  macro-F1 {r['macro_f1']:.3f}")
    print("最常见的混淆（真实 → 预测）:")
    for c in result["confusions"]:
        print(f"  {c['n']:>3}  {c['true']} → {c['predicted']}")
    return 0


def _cmd_docs(args) -> int:
    from insight.present.docs import update_reference

    update_reference(Path(args.file))
    print(f"已更新 {args.file} 的指标说明")
    return 0


# A command the server runs for the command line (``run_beside``) was given its password by the caller.
_GIVEN_PASSWORD: contextvars.ContextVar[str | None] = contextvars.ContextVar("given_password", default=None)


def _read_password(prompt: str) -> str:
    """From a terminal without echo (typed twice), else the first line of standard input."""
    if (given := _GIVEN_PASSWORD.get()) is not None:
        return given
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        if getpass.getpass("再输入一次: ") != first:
            raise UsageError("两次输入的密码不一致")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _cmd_users(args) -> int:
    from insight import accounts
    from insight.store import Store, default_db_path

    db = default_db_path(args.db)
    if args.users_command != "add" and not db.exists():  # (nothing to list or change: no store is made)
        raise UsageError(f"数据库文件不存在: {db}（先导入数据，或用 users add 创建第一个账号）")
    with Store(db) as store:
        con, command = store.con, args.users_command
        if command == "add":
            shops = [s for s in (args.shops or "").split(",") if s.strip()]
            viewer = accounts.add_user(con, args.name, args.role, _read_password("密码: "), shops=shops,
                                       agent_id=args.agent, pii=args.pii, can_import=args.can_import)
            print(f"已新增 {viewer.name}（{args.role}）")
        elif command == "list":
            frame = accounts.list_users(con)
            print(frame.fillna("—").to_string(index=False) if len(frame)
                  else "还没有账号（python -m insight users add 名字 --role admin）")
        elif command == "set-password":
            accounts.set_password(con, args.name, _read_password("新密码: "))
            print(f"已修改 {args.name} 的密码，其已登录的会话全部失效")
        elif command == "remove":
            accounts.remove_user(con, args.name)
            print(f"已删除 {args.name}")
        elif command == "token":
            print(accounts.issue_token(con, args.name))
        elif command == "revoke-tokens":
            print(f"已撤销 {accounts.revoke_tokens(con, args.name)} 个令牌")
        elif command == "login-link":
            from urllib.parse import quote

            token = accounts.issue_login_link(con, args.name, args.minutes)
            print(f"{args.base_url.rstrip('/')}/auth/link?token={quote(token)}")
    return 0


def _cmd_replay(args) -> int:
    import datetime as dt
    import time

    from insight.core.periods import parse_date
    from insight.ingest.replay import day_events, http_poster, moved_to, replay

    day, events = day_events(args.folder, parse_date(args.day, "--day") if args.day else None)
    as_day = {"today": dt.date.today(), "original": day}.get(args.as_day) or parse_date(args.as_day, "--as-day")
    if as_day != day:  # (the day itself is in the store already: sent again, nothing would move)
        events = moved_to(events, day, as_day)
    timed = [t for t, _ in events if t is not None]
    moved = f"（当作 {as_day}，ID 加后缀 ~{as_day:%Y%m%d}）" if as_day != day else ""
    span = (timed[-1] - timed[0]).total_seconds() / args.speed / 60 if timed else 0
    print(f"回放 {day}{moved}：{len(events):,} 个事件（{timed[0]:%H:%M} ~ {timed[-1]:%H:%M}），{args.speed:g} 倍速，"
          f"约 {span:.0f} 分钟发完" if timed else f"回放 {day}：{len(events):,} 个事件", file=sys.stderr, flush=True)
    tty, said = sys.stderr.isatty(), [0.0]

    def progress(totals, at):
        if at is None:
            return
        line = f"{at:%H:%M:%S}  已发送 {totals['posted']:,}，接受 {totals['accepted']:,}，拒绝 {totals['rejected']:,}"
        if tty:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif time.monotonic() - said[0] >= 10:  # a log, not a terminal: a line every 10 seconds
            said[0] = time.monotonic()
            print(line, file=sys.stderr, flush=True)
    totals = replay(events, http_poster(args.url, args.token), speed=args.speed, progress=progress)
    if tty:
        print(file=sys.stderr)
    print(json.dumps({"day": str(day), "as_day": str(as_day), **totals}, ensure_ascii=False))
    return 0


def _cmd_alerts(args) -> int:
    from dataclasses import asdict, replace

    from insight.accounts import audit
    from insight.analyses.alerts import rule_for, save_rule
    from insight.store import Store, default_db_path

    with Store(default_db_path(args.db)) as store:
        store.shop(args.shop)
        rule = rule_for(store.con, args.shop)
        given = {"wait_seconds": args.wait_seconds, "reply_rate_1h": args.reply_rate, "webhook_kind": args.kind,
                 "one_star": None if args.one_star is None else args.one_star == "on", "webhook_url": args.webhook}
        changes = {k: v for k, v in given.items() if v is not None}
        if changes.get("webhook_url") == "":  # --webhook "": stop sending
            changes["webhook_url"] = None
        if changes:
            rule = replace(rule, **changes)
            save_rule(store.con, rule)
            audit(store.con, "本机", "settings", f"alerts:{args.shop}", json.dumps(asdict(rule), ensure_ascii=False))
        print(json.dumps(asdict(rule), ensure_ascii=False))
    return 0


def _cmd_scenarios(args) -> int:
    from insight.scenarios import learning
    from insight.store import Store, default_db_path

    db = default_db_path(args.db)
    if not db.exists():
        raise UsageError(f"数据库文件不存在: {db}")
    if args.scenarios_command == "suggest":
        model = _model_of(args)
        with Store(db, read_only=True) as store:
            if args.shop not in set(store.shops()["shop_id"]):
                raise UsageError(f"没有店铺 {args.shop}")
            for row in learning.suggest(store.con, args.shop, args.n, model):
                print(json.dumps(row, ensure_ascii=False))
        return 0
    source = args.input or "标准输入"
    handle = open(args.input, encoding="utf-8") if args.input else sys.stdin
    try:
        rows = []
        for n, line in enumerate(handle, start=1):
            if not line.strip():
                rows.append({})  # (keeps the line numbers; refused below as not a correction)
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{source} 第 {n} 行不是合法的 JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise UsageError(f"{source} 第 {n} 行应为 {{\"session_id\": …, \"code\": …}}")
            rows.append(row)
    finally:
        if args.input:
            handle.close()
    while rows and rows[-1] == {}:
        rows.pop()
    with Store(db) as store:
        counts = learning.correct_many(store.con, rows, source)
        from insight.accounts import audit

        for shop, count in counts.items():
            audit(store.con, "本机", "correction", shop, f"命令行纠正 {count} 个会话的场景")
    print(json.dumps({"corrected": sum(counts.values()), "shops": counts}, ensure_ascii=False))
    return 0


_COMMANDS = {"import": _cmd_import, "metrics": _cmd_metrics, "demo": _cmd_demo, "settings": _cmd_settings,
             "docs": _cmd_docs, "train": _cmd_train, "classify": _cmd_classify, "evaluate": _cmd_evaluate,
             "users": _cmd_users, "replay": _cmd_replay, "alerts": _cmd_alerts, "weekly": _cmd_weekly,
             "build-parts": _cmd_build_parts, "scenarios": _cmd_scenarios}
# The commands that open a store file: beside a server of that store they are run by the server.
FORWARDED = ("import", "metrics", "settings", "train", "users", "alerts", "weekly", "scenarios")
# Arguments that name files or folders: resolved against the caller's working directory, not the server's.
_PATHS = ("db", "paths", "report_dir", "out", "data", "parts", "file", "input", "output", "folder")


def _store_of(args) -> Path | None:
    """The store file the command opens, None when it opens none (``metrics --data``, ``train`` alone)."""
    from insight.store import default_db_path

    if args.command not in FORWARDED or (args.command in ("metrics", "train") and not args.db):
        return None
    return default_db_path(args.db).resolve()


def _resolved(args, cwd: Path):
    for name in _PATHS:
        value = getattr(args, name, None)
        if isinstance(value, str) and value and "://" not in value:
            setattr(args, name, str(cwd / value))
        elif isinstance(value, list):
            setattr(args, name, [str(cwd / v) for v in value])
    return args


def _store_busy(args) -> bool:
    from insight.core.errors import StoreBusy
    from insight.store import Store

    try:
        Store(_store_of(args), read_only=True).close()
    except StoreBusy:
        return True
    except InsightError:  # (missing, not a store: not busy — the command itself says what is wrong)
        pass
    return False


def _forward(served, args, argv: list[str]) -> int | None:
    """Run the command in the server that holds the store, print what it printed, return its exit code (None:
    there is no server after all)."""
    # the store the caller means, named: the server's own default ($INSIGHT_DB, its folder) may differ
    body = {"argv": argv if args.db else [*argv, "--db", str(_store_of(args))], "cwd": os.getcwd()}
    if args.command == "scenarios" and args.scenarios_command == "correct" and not args.input:
        # what comes on standard input goes to the server as a file only this user may read, removed after
        import tempfile

        text = sys.stdin.read()
        with tempfile.TemporaryDirectory() as folder:
            given = Path(folder) / "stdin.jsonl"
            given.write_text(text, encoding="utf-8")
            body["argv"] = [*body["argv"], "--input", str(given)]
            code = _post(served, args, body)
        if code is None:  # no server after all: the command runs itself on what was read
            import io

            sys.stdin = io.StringIO(text)
        return code
    if args.command == "users" and args.users_command in ("add", "set-password"):
        body["password"] = _read_password("密码: " if args.users_command == "add" else "新密码: ")
        _GIVEN_PASSWORD.set(body["password"])  # read once: a command that runs itself after all reads it here
    return _post(served, args, body)


def _post(served, args, body: dict) -> int | None:
    import urllib.error
    import urllib.request

    print(f"（数据库正由运行中的服务使用：此命令经由该服务执行，{served.url}）", file=sys.stderr, flush=True)
    request = urllib.request.Request(f"{served.url}/api/v1/local/command", data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json", "X-Insight-Secret": served.secret})
    # never through a proxy: the server is on this machine
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=None) as response:
            result = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error") or exc.reason
        except ValueError:
            message = exc.reason
        raise UsageError(f"运行中的服务拒绝了此命令：{message}") from None
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(getattr(exc, "reason", exc), ConnectionRefusedError) and not _store_busy(args):
            return None  # the note outlived its server (killed): the store is free, the command runs itself
        raise UsageError(f"数据库 {args.db or _store_of(args)} 正由服务（进程 {served.pid}）使用，但无法连接 {served.url}"
                         f"（{getattr(exc, 'reason', exc)}）：服务可能正在启动或停止，请稍后重试") from None
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    return int(result.get("code", 1))


def _failed(exc: Exception) -> int:
    """An error as the command line ends on it: one line on stderr, exit code 2."""
    print(f"错误: {' '.join(str(exc).split())}", file=sys.stderr)
    return 2


def _run(args, extra_commands: dict | None = None, argv: list[str] | None = None) -> int:
    """Run a parsed command; errors end as one line on stderr and exit code 2."""
    try:
        if args.command == "serve" and "serve" not in (extra_commands or {}):
            raise UsageError("serve 需要网页界面：请用 python -m insight serve 启动")
        if argv is not None and (db := _store_of(args)) is not None:
            from insight.store import served_by

            if (served := served_by(db)) is not None and served.pid != os.getpid():
                code = _forward(served, args, argv)
                if code is not None:
                    return code
        return {**(extra_commands or {}), **_COMMANDS}[args.command](args)
    except InsightError as exc:
        return _failed(exc)
    except OSError as exc:  # a path that cannot be read or written (--out /proc/x, a full disk, no rights)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"错误: 无法读写 {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断，数据库未改变", file=sys.stderr)
        return 130


def main(argv=None, extra_commands: dict | None = None) -> int:
    """``extra_commands``: handlers from layers above this one (``serve`` lives in ``insight.ui``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except InsightError as exc:
        return _failed(exc)
    if args.command in ("import", "train"):  # one thread here: bulk classification may fork per core
        os.environ.setdefault("INSIGHT_SCENARIO_WORKERS", "0")  # (never in a server: run_beside leaves it)
    return _run(args, extra_commands, argv)


def run_beside(argv: list[str], cwd: str, db: str, password: str | None = None) -> int:
    """Run a command line for a caller on this machine, in the process that serves ``db`` (the caller could
    not open it): parsed as ``main`` parses it, its files resolved against the caller's ``cwd``, refused
    unless it opens that very store. What it prints goes to this thread's sys.stdout/stderr."""
    try:
        args = _parser().parse_args(argv)
        if args.command not in FORWARDED:
            raise UsageError(f"{args.command} 不需要经由服务执行，请直接运行")
        args = _resolved(args, Path(cwd))
        if _store_of(args) != Path(db).resolve():
            raise UsageError("该命令使用的数据库不是此服务的数据库")
    except InsightError as exc:
        return _failed(exc)
    token = _GIVEN_PASSWORD.set(password)
    try:
        return _run(args)
    finally:
        _GIVEN_PASSWORD.reset(token)
