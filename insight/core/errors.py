"""One exception tree for the library: catch ``InsightError`` to catch them all."""

__all__ = [
    "InsightError",
    "UsageError",
    "DataError",
    "ImportFailed",
    "StoreError",
    "StoreBusy",
    "ConfigError",
    "Forbidden",
    "AuthError",
]


class InsightError(Exception):
    """Base of every error the library raises on purpose."""


class UsageError(InsightError):
    """A caller passed bad arguments (unknown shop, bad date, unknown metric…)."""


class DataError(InsightError):
    """Input data cannot be used as given."""


class ImportFailed(DataError):
    """An import was aborted; the store is unchanged.

    ``report`` carries what was read before the failure, when there is one.
    """

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class StoreError(InsightError):
    """The store file cannot be opened or is not a Service Insight store."""


class StoreBusy(StoreError):
    """Another process (an import) holds the store file; retry when it is done."""


class ConfigError(InsightError):
    """A declaration shipped with the product (metric registry, taxonomy, README markers) is inconsistent."""


class Forbidden(InsightError):
    """The viewer may not see or do this (another shop, another agent, an admin's task): 无权查看."""


class AuthError(InsightError):
    """Sign-in failed: unknown user or wrong password, an expired or used link, a revoked token, throttled."""
