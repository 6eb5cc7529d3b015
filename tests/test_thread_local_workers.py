"""Unit tests of course/thread_local_workers.py (lesson 09)."""
from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

import pytest
import thread_local_workers as tlw


def run_in_threads(handler, users: list[str]) -> list[str]:
    """Run handler(user, barrier) in one thread per user; return the sorted replies."""
    barrier = threading.Barrier(len(users))
    replies: list[str] = []
    threads = [threading.Thread(target=lambda u=user: replies.append(handler(u, barrier)))
               for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()
    return sorted(replies)


def test_global_is_overwritten_when_requests_overlap():
    replies = run_in_threads(tlw.handle_with_global, ["alice", "bob", "carol"])
    greetings = {reply.split(": ")[1] for reply in replies}
    assert len(replies) == 3
    assert len(greetings) == 1, "every thread should read the last user stored"


def test_thread_local_keeps_each_request_apart():
    replies = run_in_threads(tlw.handle_with_local, ["alice", "bob", "carol"])
    assert replies == [f"{u} got: Hello, {u}" for u in ("alice", "bob", "carol")]


def test_thread_local_default_without_attribute():
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(tlw.greeting_from_local()))
    thread.start()
    thread.join(timeout=10)
    assert result == ["Hello, anonymous"]


def test_request_defaults_initialise_once_per_thread():
    defaults = tlw.RequestDefaults()
    defaults.user = "main-user"
    seen: list[tuple[str, str]] = []

    def use() -> None:
        seen.append((defaults.user, defaults.initialised_in))
        defaults.user = "changed"
        seen.append((defaults.user, defaults.initialised_in))

    thread = threading.Thread(target=use, name="request-9")
    thread.start()
    thread.join(timeout=10)
    assert seen == [("anonymous", "request-9"), ("changed", "request-9")]
    assert defaults.user == "main-user"
    assert defaults.initialised_in == threading.current_thread().name


def test_one_connection_per_thread_and_closed():
    connections = tlw.PerThreadConnections()
    sums: list[int] = []
    threads = [threading.Thread(target=lambda: sums.append(tlw.run_queries(connections, 4)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sums == [10, 10, 10]
    assert connections.opened == 3


def test_connection_reused_within_thread_until_closed():
    connections = tlw.PerThreadConnections()
    first = connections.get()
    assert connections.get() is first
    connections.close()
    with pytest.raises(sqlite3.ProgrammingError):
        first.execute("SELECT 1")  # closed
    second = connections.get()
    assert second is not first and connections.opened == 2
    connections.close()


def test_sqlite_connection_refuses_other_threads():
    connection = sqlite3.connect(":memory:")
    errors: list[BaseException] = []

    def use() -> None:
        try:
            connection.execute("SELECT 1")
        except sqlite3.ProgrammingError as err:
            errors.append(err)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join(timeout=10)
    connection.close()
    assert len(errors) == 1


def test_reused_pool_thread_leaks_thread_local_and_scope_fixes_it():
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(tlw.serve_request, "req-1").result() == "[req-1] served"
        assert pool.submit(tlw.background_job).result() == "[req-1] background job"
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(tlw.serve_request_scoped, "req-2").result() == "[req-2] served"
        assert pool.submit(tlw.background_job).result() == "[-] background job"


def test_request_scope_removes_value_after_error():
    with pytest.raises(RuntimeError):
        with tlw.request_scope("req-3"):
            assert tlw.log_line("x") == "[req-3] x"
            raise RuntimeError("handler failed")
    assert tlw.log_line("x") == "[-] x"


def test_context_var_new_thread_starts_empty_and_copy_isolates():
    token = tlw.request_id_var.set("req-main")
    try:
        from_thread: list[str] = []
        thread = threading.Thread(target=lambda: from_thread.append(tlw.log_line_cv("t")))
        thread.start()
        thread.join(timeout=10)
        assert from_thread == ["[-] t"]

        snapshot = copy_context()
        assert snapshot.run(tlw.serve_request_cv, "req-copy") == "[req-copy] served"
        assert tlw.request_id_var.get() == "req-main"
    finally:
        tlw.request_id_var.reset(token)


def test_pool_does_not_copy_context_unless_asked():
    token = tlw.request_id_var.set("req-main")
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(tlw.log_line_cv, "m").result() == "[-] m"
            pool.submit(tlw.serve_request_cv, "req-1").result()
            assert pool.submit(tlw.background_job_cv).result() == "[req-1] background job"
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(copy_context().run, tlw.log_line_cv, "m").result() == "[req-main] m"
            pool.submit(copy_context().run, tlw.serve_request_cv, "req-1").result()
            assert (pool.submit(copy_context().run, tlw.background_job_cv).result()
                    == "[req-main] background job")
    finally:
        tlw.request_id_var.reset(token)
