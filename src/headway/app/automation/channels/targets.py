"""Where a channel may send: no link-local / cloud-metadata addresses ever, and no loopback or private
addresses unless ``HEADWAY_WEBHOOK_ALLOW_PRIVATE`` is true (server-side request forgery guard).

The check runs twice: when a channel is saved (:func:`target_error`, a form error) and when it sends.
At send time it is part of opening the connection (:func:`open_url`): every address the host name
resolves to is checked, and the socket connects to a checked address — so a DNS answer that changed
since the channel was saved, or a redirect to another host, cannot reach an internal service.
Proxies from the environment are not used for channel requests (the check would see the proxy).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "HEADWAY_WEBHOOK_ALLOW_PRIVATE"
_DEFAULT_TIMEOUT = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]

# Never reachable, whatever the setting says: link-local (the cloud metadata services live there).
ALWAYS_REFUSED = [
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address (cloud metadata service)"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "a cloud metadata address"),
    (ipaddress.ip_network("100.100.100.200/32"), "a cloud metadata address"),
]
# Refused unless HEADWAY_WEBHOOK_ALLOW_PRIVATE=true.
PRIVATE = [
    (ipaddress.ip_network("127.0.0.0/8"), "a loopback address"),
    (ipaddress.ip_network("::1/128"), "a loopback address"),
    (ipaddress.ip_network("0.0.0.0/8"), "a local address"),
    (ipaddress.ip_network("::/128"), "a local address"),
    (ipaddress.ip_network("10.0.0.0/8"), "a private address"),
    (ipaddress.ip_network("172.16.0.0/12"), "a private address"),
    (ipaddress.ip_network("192.168.0.0/16"), "a private address"),
    (ipaddress.ip_network("fc00::/7"), "a private address"),
]


class BlockedTarget(OSError):
    """The target resolves to an address channels may not send to; the message says which and why."""


def allow_private() -> bool:
    return bool(getattr(settings, SETTING, False))


def address_error(host: str, address: Address, *, allow_private_targets: bool) -> str | None:
    """Why ``host`` (which resolved to ``address``) may not be sent to, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    said = f"{address} is" if host.strip("[]") == str(address) else f"{host} resolves to {address},"
    for network, what in ALWAYS_REFUSED:
        if address in network:
            return f"{said} {what}; notifications are never sent there."
    if not allow_private_targets:
        for network, what in PRIVATE:
            if address in network:
                return f"{said} {what}; set {SETTING}=true to allow internal targets."
    return None


def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo for a TCP connection (raises socket.gaierror when the name does not resolve)."""
    return socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)


def check_resolved(host: str, infos: list[tuple[Any, ...]]) -> None:
    """Raise BlockedTarget if any address ``host`` resolved to is refused."""
    allowed = allow_private()
    for info in infos:
        error = address_error(host, ipaddress.ip_address(info[4][0].split("%")[0]), allow_private_targets=allowed)
        if error:
            raise BlockedTarget(error)


def target_error(url: str) -> str | None:
    """The save-time check: why the URL's host may not be sent to, or None.

    A name that does not resolve now is let through (it may be created later); it is checked
    again, like every target, when a notification is sent."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = resolve(host, port)
    except (OSError, ValueError, UnicodeError):
        return None
    try:
        check_resolved(host, infos)
    except BlockedTarget as exc:
        return str(exc)
    return None


def guarded_create_connection(
    address: tuple[str, int], timeout: Any = _DEFAULT_TIMEOUT, source_address: Any = None
) -> socket.socket:
    """socket.create_connection, but only to addresses that pass the check (all of them must)."""
    host, port = address
    infos = resolve(host, port)
    check_resolved(host, infos)
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"{host} has no address")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = guarded_create_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


def open_url(request: urllib.request.Request, timeout: float) -> Any:
    """urlopen with the address check on every connection (redirects included) and no proxies."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _GuardedHTTPHandler, _GuardedHTTPSHandler)
    return opener.open(request, timeout=timeout)
