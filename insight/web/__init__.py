"""The web server's own parts, without Streamlit: authentication in front of every request, the
sign-in pages and the HTTP API. ``insight.ui.server`` mounts them on Streamlit's ``st.App``."""

from insight.store import ServedBy

from ._api import METRICS_PARAMS, api_routes
from ._auth import VIEWER_KEY, AuthMiddleware, LocalOnly, auth_routes, identify, is_local, local_request, viewer_of
from ._db import SharedStore, close_stores, shared_store
from ._events import Busy, EventWriter, event_routes, event_writer, stop_writers
from ._local import local_routes

__all__ = ["AuthMiddleware", "auth_routes", "api_routes", "routes", "shared_store", "SharedStore", "close_all",
           "viewer_of", "VIEWER_KEY", "is_local", "local_request", "identify", "LocalOnly", "METRICS_PARAMS", "EventWriter", "event_writer", "Busy"]


def routes(db_path: str, served: ServedBy | None = None) -> list:
    """Every route the server adds to Streamlit's: sign-in pages, the events endpoint, the command line's
    endpoint (``served``: the note this server left beside its store), then the API."""
    return auth_routes(db_path) + event_routes(db_path) + local_routes(db_path, served) + api_routes(db_path)


def close_all() -> None:
    """For tests: end the event writers (they use the open stores), then forget the stores."""
    stop_writers()
    close_stores()
