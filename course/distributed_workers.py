"""Task and result queues served over TCP on the loopback interface, for lesson 11.

A manager *server* process owns two ``queue.Queue`` objects and serves them;
a master and any number of workers connect by address and authkey and use
the queues through proxies.  Every callable the server or a worker needs is
defined at module level, so spawn and forkserver children can import it.

A worker can also run as a separate program, as it would on another machine.
The authkey comes from the environment, never from the command line, which
other users of the machine can read (``ps``)::

    COURSE_AUTHKEY=<hex> python -m distributed_workers 127.0.0.1 <port>
"""
from __future__ import annotations

import os
import queue
import socket
import sys
import threading
from multiprocessing.connection import Client, Listener
from multiprocessing.context import BaseContext
from multiprocessing.managers import BaseManager
from typing import Any

AUTHKEY_ENV = "COURSE_AUTHKEY"
LOOPBACK = "127.0.0.1"
STOP = None
"""Sentinel the master puts once per worker: no more tasks."""

# Every process that imports this module gets these two queues, but only the
# server's are used: the others reach the server's through proxies.
_task_queue: queue.Queue[Any] = queue.Queue()
_result_queue: queue.Queue[Any] = queue.Queue()


def get_task_queue() -> queue.Queue[Any]:
    """The server's task queue (called in the server process)."""
    return _task_queue


def get_result_queue() -> queue.Queue[Any]:
    """The server's result queue (called in the server process)."""
    return _result_queue


class QueueServer(BaseManager):
    """Serves the task and result queues; ``start()`` runs it in a new process."""


QueueServer.register("get_task_queue", callable=get_task_queue)
QueueServer.register("get_result_queue", callable=get_result_queue)


class QueueClient(BaseManager):
    """Connects to a running ``QueueServer``: it knows the names, not the callables."""


QueueClient.register("get_task_queue")
QueueClient.register("get_result_queue")


def start_server(authkey: bytes, ctx: BaseContext | None = None) -> QueueServer:
    """Start a ``QueueServer`` on 127.0.0.1, on a port the OS picks.

    ``server.address`` is then the real ``(host, port)``; stop it with
    ``server.shutdown()``.
    """
    server = QueueServer(address=(LOOPBACK, 0), authkey=authkey, ctx=ctx)
    server.start()
    return server


def connect(address: tuple[str, int], authkey: bytes) -> QueueClient:
    """Connect to the server at ``address``; raises ``AuthenticationError`` on a wrong key."""
    client = QueueClient(address=address, authkey=authkey)
    client.connect()
    return client


def square(n: int) -> int:
    """The work each task asks for."""
    return n * n


def work(address: tuple[str, int], authkey: bytes, idle_timeout: float = 10.0) -> int:
    """Serve tasks from the server at ``address`` until ``STOP``; return how many were done.

    Each result is ``(n, square(n), worker pid)``.  A worker that waits
    ``idle_timeout`` seconds for a task gives up, so a lost master never
    leaves it running.
    """
    client = connect(address, authkey)
    tasks, results = client.get_task_queue(), client.get_result_queue()
    done = 0
    while True:
        try:
            n = tasks.get(timeout=idle_timeout)
        except queue.Empty:  # the module is `queue`; `Queue` (the class) has no `Empty`
            break
        if n is STOP:
            break
        results.put((n, square(n), os.getpid()))
        done += 1
    return done


# --- why pickled messages need trust --------------------------------------------

class RunsOnLoad:
    """Pickles fine; *loading* it calls ``print``: any function could stand there."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (print, ("printed by pickle.loads, while it was loading the data",))


class ReturnsLoaderPid:
    """Loading it calls ``os.getpid()`` in the loading process and returns the result."""

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (os.getpid, ())


def eavesdrop(message: Any, authkey: bytes, timeout: float = 10.0) -> bytes:
    """Send ``message`` over an authenticated connection and return what a wiretap saw.

    A ``Client`` sends to a ``Listener``, both on 127.0.0.1 and both with
    ``authkey``, through a relay that forwards every byte and records what the
    client sent: the handshake and then the pickled message, as they travelled.
    """
    recorded = bytearray()
    received: list[Any] = []

    def pump(source: socket.socket, target: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    recorded.extend(data)
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the other side closed first

    with Listener((LOOPBACK, 0), authkey=authkey) as listener, \
            socket.create_server((LOOPBACK, 0)) as relay:
        relay.settimeout(timeout)

        def receive() -> None:
            with listener.accept() as connection:
                received.append(connection.recv())

        def run_relay() -> None:
            with relay.accept()[0] as from_client, \
                    socket.create_connection(listener.address, timeout=timeout) as to_listener:
                from_client.settimeout(timeout)
                back = threading.Thread(target=pump, args=(to_listener, from_client, False))
                back.start()
                pump(from_client, to_listener, True)
                back.join(timeout)

        threads = [threading.Thread(target=receive, daemon=True),
                   threading.Thread(target=run_relay, daemon=True)]
        for thread in threads:
            thread.start()
        with Client(relay.getsockname(), authkey=authkey) as connection:
            connection.send(message)
        for thread in threads:
            thread.join(timeout)
    if received != [message]:
        raise RuntimeError("the message did not arrive through the relay")
    return bytes(recorded)


def main(argv: list[str]) -> int:
    """Command line: ``python -m distributed_workers HOST PORT`` (key in ``COURSE_AUTHKEY``)."""
    if len(argv) != 2 or AUTHKEY_ENV not in os.environ:
        print(f"usage: {AUTHKEY_ENV}=<hex key> python -m distributed_workers HOST PORT",
              file=sys.stderr)
        return 2
    address = (argv[0], int(argv[1]))
    work(address, bytes.fromhex(os.environ[AUTHKEY_ENV]))
    print(f"worker PID {os.getpid()} finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
