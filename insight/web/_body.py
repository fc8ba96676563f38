"""Request bodies read up to a bound: a declared length over it is refused before anything is read, and
a body sent without one (or lying about it) is cut off once it passes the bound — never read whole
first (an anonymous 1 GB sign-in post took the server from 374 MB to 2.2 GB)."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["TooLarge", "read_body"]


class TooLarge(Exception):
    """The body is larger than the bound."""


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise TooLarge()
        except ValueError:
            raise TooLarge() from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
