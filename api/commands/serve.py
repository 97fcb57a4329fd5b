"""`paperscope serve`: open the index, bind, print the URL and serve the HTTP API."""

from __future__ import annotations

import argparse
import socket
import sys

from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default=None,
        help=Settings.help("host") + "; default 127.0.0.1, 0.0.0.0 exposes the server",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=Settings.help("port") + "; default 8000",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from indexer.store import Store
    from models.encoder import canonical_model_name
    from search.engine import Engine

    flags = {"host": args.host, "port": args.port}
    settings = Settings.from_env(
        **{**settings.model_dump(), **{k: v for k, v in flags.items() if v is not None}}
    )
    # Check the index before binding (a missing or mismatched one fails here with one clear
    # line), and bind before the slow model load, so a port in use fails at once too.
    Store.open(settings.index_dir, canonical_model_name(settings.model) if settings.model else None)
    sock = _bind(settings.host, settings.port)
    engine = Engine.open(
        settings.index_dir,
        settings.model,
        precision=settings.precision,
        warm=True,
        limits=settings.limits(),
    )
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"paperscope serve: {engine.store.count()} papers from {settings.index_dir} at "
        f"http://{shown}:{port} (docs: http://{shown}:{port}/docs)",
        flush=True,
    )
    config = uvicorn.Config(
        create_app(settings, engine=engine),
        log_level="warning" if settings.quiet else "info",
        access_log=args.access_log,
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _bind(host: str, port: int) -> socket.socket:
    from models.errors import BadInputError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on
    # connections whose socket says TCP, and with Nagle on every keep-alive request after the
    # first waited 40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BadInputError(
            f"cannot bind {host}:{port} ({exc.strerror}); choose another --port or --host"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    if sys.platform != "win32":
        sock.setblocking(False)
    return sock
