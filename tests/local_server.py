"""Serving a fake API's aiohttp app on 127.0.0.1 for a test (the fake Bot API, the fake Zalo)."""

from __future__ import annotations

import socket

from aiohttp import web


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a server started by another process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve_locally(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    """Start `app` on `port` of 127.0.0.1 (0: a free one); the runner (to clean up) and the
    base URL. A given port lets a test point the bot at a server that is not up yet."""
    # handler_cancellation: a client that gives up on a long poll (the bot stopping) must not
    # leave a handler waiting; a short shutdown_timeout keeps teardown quick.
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


OUTAGE_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
