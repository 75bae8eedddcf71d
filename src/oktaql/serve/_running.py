"""Running a server: on an event loop thread of its own (tests, benchmarks), or until stopped
(the command)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from oktaql._settings import Settings
from oktaql.serve._config import ServeConfig
from oktaql.serve._server import Server


class RunningServer:
    """A server on its own event loop thread (tests, benchmarks): ``port``, ``stop()``; as a
    context manager, stopped on leaving."""

    def __init__(self, server: Server):
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="oktaql-serve", daemon=True)
        self.thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.server.config.host

    def stop(self) -> None:
        async def shutdown() -> None:
            if self.server._server is not None:
                self.server._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()  # each connection cancels its session's statement and closes
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.server.close()


def start_in_thread(settings: Settings, config: ServeConfig | None = None) -> RunningServer:
    return RunningServer(Server(settings, config or ServeConfig(port=0)))


async def serve_forever(server: Server, announce: Callable[[str], None]) -> None:
    running = await server.start()
    announce(f"oktaql serve: listening on {server.config.host}:{server.port}")
    async with running:
        await running.serve_forever()


__all__ = ["RunningServer", "serve_forever", "start_in_thread"]
