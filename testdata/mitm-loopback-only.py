"""mitmproxy addon used by record.mjs: only loopback traffic may pass.

Chromium talks to Google services on its own (component updater, accounts) even with
--disable-background-networking. This machine must not send traffic anywhere but 127.0.0.1,
so such requests are answered by the proxy itself (403) and never connect upstream; record.mjs
also keeps them out of the HAR with save_stream_filter.
"""
from mitmproxy import http

LOOPBACK = ("127.", "localhost", "::1", "[::1]")


def _loopback(host: str) -> bool:
    return host.startswith(LOOPBACK)


def _block(flow: http.HTTPFlow) -> None:
    flow.response = http.Response.make(
        403, b"blocked by mitm-loopback-only.py: loopback traffic only\n", {"Content-Type": "text/plain"}
    )


def http_connect(flow: http.HTTPFlow) -> None:
    if not _loopback(flow.request.host):
        _block(flow)


def request(flow: http.HTTPFlow) -> None:
    if not _loopback(flow.request.host):
        _block(flow)
