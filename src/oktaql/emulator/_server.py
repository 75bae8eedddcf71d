"""Running the emulator under uvicorn: blocking (``serve``) or in a thread."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette

from ._app import app_state, build_app

if TYPE_CHECKING:
    from . import EmulatorConfig
    from ._org import Org


def _uvicorn_config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    # The app sets Date itself (so it is present however the app is hosted);
    # uvicorn's own Date/Server headers would duplicate or leak "uvicorn".
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        date_header=False,
        server_header=False,
    )


def _url(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that, once listening, records and prints its URL."""

    def __init__(self, config: uvicorn.Config, app: Starlette, announce: bool):
        super().__init__(config)
        self._app = app
        self._announce = announce
        self.url = ""
        # Set only after ``url`` and ``org.base_url`` are filled in; uvicorn's
        # own ``started`` flag flips before this override finishes.
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if not self.started or not self.servers:
            return
        self.url = _url(self.config.host, _bound_port(self))
        state = app_state(self._app)
        state.org.base_url = self.url
        if self._announce:
            print(f"Okta emulator listening on {self.url}", flush=True)
            print(f"API token (SSWS): {state.config.token}", flush=True)
        self.ready.set()


def serve(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the emulator in the foreground until interrupted (Ctrl-C)."""
    app = build_app(config)
    _AnnouncingServer(_uvicorn_config(app, host, port), app, announce=True).run()


class RunningEmulator:
    """An emulator serving from a daemon thread; use as a context manager."""

    def __init__(self, app: Starlette, server: _AnnouncingServer, thread: threading.Thread):
        self.app = app
        self._server = server
        self._thread = thread
        state = app_state(app)
        self.config: EmulatorConfig = state.config
        self.org: Org = state.org
        self.url: str = server.url
        self.port: int = _bound_port(server)

    @property
    def request_log(self) -> list[tuple[str, str, dict[str, str]]]:
        """``(method, path_with_query, headers)`` of every request received, in order."""
        return app_state(self.app).request_log

    def reset_log(self) -> None:
        self.request_log.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningEmulator(url={self.url!r})"


def start_in_thread(
    config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningEmulator:
    """Start serving in a daemon thread (port 0 picks a free port); returns once listening."""
    app = build_app(config)
    server = _AnnouncingServer(_uvicorn_config(app, host, port), app, announce=False)
    thread = threading.Thread(target=server.run, name="oktaql-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30.0
    while not server.ready.wait(0.005):
        if not thread.is_alive():
            raise RuntimeError(f"Okta emulator failed to start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"Okta emulator did not start within 30 s on {host}:{port}")
    return RunningEmulator(app, server, thread)
