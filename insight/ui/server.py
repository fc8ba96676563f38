"""The app as one ASGI application: Streamlit's ``st.App`` running ``app.py``, with the sign-in pages,
the HTTP API and the authentication middleware of ``insight.web`` in front of every request.

    python -m insight serve [--db FILE] [--host 127.0.0.1] [--port 8501]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from insight import accounts, web
from insight.core.limits import Limits
from insight.derive import settle_pending
from insight.store import Store, announce_serving, default_db_path, serve_in_this_process, withdraw_serving

__all__ = ["build_app", "serve", "ENTRY", "SERVER_OPTIONS"]

ENTRY = Path(__file__).resolve().parents[2] / "app.py"


# Every option the server runs with, set here: `serve` started from another folder does not read the
# repository's .streamlit/config.toml (which `streamlit run` uses, and a test keeps equal to these).
SERVER_OPTIONS = {
    "server.headless": True,
    "server.fileWatcherType": "none",
    "server.maxUploadSize": 512,
    # An unexpected error shows its type and a generic message; the traceback (with server paths) goes to
    # the server's console only.
    "client.showErrorDetails": "type",
    "client.toolbarMode": "minimal",
    "browser.gatherUsageStats": False,
    "theme.primaryColor": "#2563eb",
}


def build_app(db_path: str, served=None) -> st.App:
    return st.App(ENTRY, routes=web.routes(db_path, served),
                  middleware=[Middleware(web.AuthMiddleware, db_path=db_path)])


def _first_run_note(db_path: str, host: str, port: int) -> str:
    with Store(db_path) as store:
        if accounts.has_users(store.con):
            return f"服务洞察: http://{host}:{port}  （用账号登录；管理员可用 python -m insight users login-link 名字 生成一次性登录链接）"
    return (f"服务洞察: http://127.0.0.1:{port}\n"
            "还没有账号：在创建第一个管理员之前，只有本机（127.0.0.1）可以访问，且视为管理员。\n"
            f"创建管理员: python -m insight users add 名字 --role admin --db {db_path}\n"
            f"然后获取一次性登录链接: python -m insight users login-link 名字 --db {db_path} --base-url http://{host}:{port}")


def _derive_pending(db_path: str) -> None:
    """Derive what a store recorded for later (a migration, rows moved out of the time window, an events
    round that failed) before the pages read it."""
    with Store(db_path) as store:
        if store.con.execute("SELECT count(*) FROM derive_pending").fetchone()[0]:
            print("正在补算汇总数据（数据库升级或上次未完成的计算）…", file=sys.stderr, flush=True)
            settle_pending(store)


def serve(args) -> int:
    """``python -m insight serve``: blocks until stopped."""
    db_path = str(default_db_path(args.db))
    os.environ["INSIGHT_DB"] = db_path  # the pages' store (insight.ui.data) is the one the middleware checks
    _derive_pending(db_path)
    if args.parts:
        from insight.store import open_parts

        open_parts(args.parts).close()  # a folder that cannot be read stops here, with the reason
        os.environ["INSIGHT_PARTS"] = str(Path(args.parts).resolve())
    print(_first_run_note(db_path, args.host, args.port), file=sys.stderr, flush=True)
    # Commands run beside the server (users add, weekly, import …) reach the store through it.
    serve_in_this_process(db_path)
    served = announce_serving(db_path, args.port)
    try:
        build_app(db_path, served).run(config={
            **SERVER_OPTIONS, "server.address": args.host, "server.port": int(args.port),
            "server.maxUploadSize": int(args.max_upload_mb or Limits.from_env().max_upload_mb),
        })
    finally:
        withdraw_serving(served)
    return 0
