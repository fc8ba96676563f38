"""The local command endpoint. While the server runs it holds the database file, and DuckDB locks every
other process out; a command line run beside it (``python -m insight users add …``) finds the server's
note (``insight.store.served_by``) and posts its arguments here. Only from this machine, and only with
the note's secret — readable by the system user who started the server, who could open the file anyway."""

from __future__ import annotations

import hmac
import io
import json
import sys
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from insight import cli
from insight.store import ServedBy

from ._auth import LOCAL_COMMAND_PATH, is_local
from ._body import TooLarge, read_body

__all__ = ["local_routes"]

_MAX_BODY = 1 << 20
# One command at a time: they may import or retrain, which the importer and the model do one at a time anyway.
_one_at_a_time = threading.Lock()
_captured = threading.local()


class _PerThread(io.TextIOBase):
    """sys.stdout/sys.stderr of a server: a thread running a command writes to its own buffer, every other
    thread to the stream it had before."""

    def __init__(self, name: str, underlying):
        self._name, self._underlying = name, underlying

    def _target(self):
        return getattr(_captured, self._name, None) or self._underlying

    def write(self, text):
        return self._target().write(text)

    def flush(self):
        return self._target().flush()

    def isatty(self):
        return False if getattr(_captured, self._name, None) else self._underlying.isatty()

    @property
    def encoding(self):
        return "utf-8"


def _install_capture() -> None:
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), _PerThread):
            setattr(sys, name, _PerThread(name, getattr(sys, name)))


def _run(argv: list[str], cwd: str, db: str, password: str | None) -> dict:
    with _one_at_a_time:
        _install_capture()
        _captured.stdout, _captured.stderr = io.StringIO(), io.StringIO()
        try:
            code = cli.run_beside(argv, cwd, db, password)
            return {"code": code, "stdout": _captured.stdout.getvalue(), "stderr": _captured.stderr.getvalue()}
        finally:
            _captured.stdout = _captured.stderr = None


def local_routes(db_path: str, served: ServedBy | None) -> list:
    async def command(request: Request) -> JSONResponse:
        client = request.client.host if request.client else None
        given = request.headers.get("x-insight-secret", "")
        if served is None or not is_local(client, request.headers.keys()) \
                or not hmac.compare_digest(given.encode(), served.secret.encode()):
            return JSONResponse({"error": "只接受本机、持有服务凭据的命令行"}, status_code=403)
        try:
            body = json.loads(await read_body(request, _MAX_BODY))
            argv, cwd = body["argv"], body["cwd"]
            password = body.get("password")
            if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv) and isinstance(cwd, str)
                    and (password is None or isinstance(password, str))):
                raise ValueError
        except TooLarge:
            return JSONResponse({"error": "请求过大"}, status_code=413)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "请求格式不对：需要 argv（字符串列表）与 cwd"}, status_code=400)
        return JSONResponse(await run_in_threadpool(_run, argv, cwd, db_path, password))

    return [Route(LOCAL_COMMAND_PATH, command, methods=["POST"])]
