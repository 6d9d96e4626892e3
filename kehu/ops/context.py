"""The current request's id, for log lines written anywhere while the request runs."""

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("kehu_request_id", default=None)
