"""The client's IP address, the one function that login throttling, public-form limits and the audit
log use. Behind a reverse proxy (nginx) every request comes from the proxy's address; the client's is
in X-Forwarded-For, which anyone can forge, so it is believed only from the proxies listed in
KEHU_TRUSTED_PROXIES (CIDRs)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _parse(value: str):
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted_proxy(address) -> bool:
    networks = _networks(tuple(getattr(settings, "KEHU_TRUSTED_PROXIES", ()) or ()))
    return any(address in n for n in networks if n.version == address.version)


def client_ip(request) -> str | None:
    """REMOTE_ADDR, unless it is a trusted proxy: then the right-most X-Forwarded-For address that is
    not itself a trusted proxy (the left-most entries are whatever the client chose to send)."""
    if request is None:
        return None
    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    if not is_trusted_proxy(remote):
        return str(remote)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [h for h in (p.strip() for p in forwarded.split(",")) if h]
    client = remote
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:  # garbage from the client: stop at the last address a proxy vouched for
            break
        client = address
        if not is_trusted_proxy(address):
            break
    return str(client)
