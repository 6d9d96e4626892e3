"""The acting request's IP and user agent, for audit entries written deep inside services."""

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("kehu_current_ip", default=None)
