"""Unit tests of course/distributed_workers.py (lesson 11)."""
from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import secrets
import subprocess
import sys
from multiprocessing.managers import BaseManager
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
import distributed_workers as dw

from coursetools import available_start_methods

METHODS = available_start_methods()


@pytest.fixture
def authkey() -> bytes:
    return secrets.token_bytes(16)


@pytest.mark.parametrize("method", METHODS)
def test_workers_connect_by_address_and_nothing_is_left(method, authkey):
    ctx = multiprocessing.get_context(method)
    server = dw.start_server(authkey, ctx=ctx)
    try:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        tasks, results = server.get_task_queue(), server.get_result_queue()
        for n in range(6):
            tasks.put(n)
        workers = [ctx.Process(target=dw.work, args=(server.address, authkey)) for _ in range(2)]
        for worker in workers:
            worker.start()
        collected = [results.get(timeout=30) for _ in range(6)]
        for _ in workers:
            tasks.put(dw.STOP)
        for worker in workers:
            worker.join(timeout=30)
        assert sorted((n, sq) for n, sq, _ in collected) == [(n, n * n) for n in range(6)]
        assert {pid for *_, pid in collected} <= {worker.pid for worker in workers}
        assert os.getpid() not in {pid for *_, pid in collected}
        assert [worker.exitcode for worker in workers] == [0, 0]
        del tasks, results
    finally:
        server.shutdown()
    assert not multiprocessing.active_children()


def test_worker_program_reads_key_from_environment(authkey):
    server = dw.start_server(authkey)
    try:
        tasks, results = server.get_task_queue(), server.get_result_queue()
        tasks.put(4)
        tasks.put(dw.STOP)
        host, port = server.address
        done = subprocess.run([sys.executable, "-m", "distributed_workers", host, str(port)],
                              cwd=COURSE, env={**os.environ, dw.AUTHKEY_ENV: authkey.hex()},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        n, n_squared, pid = results.get(timeout=10)
        assert (n, n_squared) == (4, 16)
        assert done.stdout == f"worker PID {pid} finished\n"
        del tasks, results
    finally:
        server.shutdown()


def test_worker_program_without_key_prints_usage():
    env = {k: v for k, v in os.environ.items() if k != dw.AUTHKEY_ENV}
    done = subprocess.run([sys.executable, "-m", "distributed_workers", "127.0.0.1", "1"],
                          cwd=COURSE, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr


def test_work_gives_up_when_idle_and_catches_queue_empty(authkey):
    server = dw.start_server(authkey)
    try:
        assert dw.work(server.address, authkey, idle_timeout=0.1) == 0
    finally:
        server.shutdown()


def test_wrong_key_is_refused(authkey):
    server = dw.start_server(authkey)
    try:
        with pytest.raises(multiprocessing.AuthenticationError):
            dw.connect(server.address, b"wrong key")
        # the server keeps serving clients with the right key
        client = dw.connect(server.address, authkey)
        client.get_task_queue().put(1)
        assert server.get_task_queue().get(timeout=5) == 1
    finally:
        server.shutdown()


def test_eavesdrop_sees_plain_message_but_not_key(authkey):
    secret = "4111 1111 1111 1111"
    wire = dw.eavesdrop({"card": secret}, authkey)
    assert secret.encode() in wire
    assert authkey not in wire


def test_unpickling_calls_the_reduce_function(capsys):
    assert pickle.loads(pickle.dumps(dw.RunsOnLoad())) is None
    assert "printed by pickle.loads" in capsys.readouterr().out
    assert pickle.loads(pickle.dumps(dw.ReturnsLoaderPid())) == os.getpid()


class LambdaServer(BaseManager):
    pass


LambdaServer.register("get_queue", callable=lambda: queue.Queue())


def test_lambda_registry_cannot_start_under_spawn(authkey):
    manager = LambdaServer(address=("127.0.0.1", 0), authkey=authkey,
                           ctx=multiprocessing.get_context("spawn"))
    with pytest.raises(pickle.PicklingError):
        manager.start()
    assert not multiprocessing.active_children()


def test_module_callables_are_importable_by_name():
    for func in (dw.get_task_queue, dw.get_result_queue, dw.work):
        assert pickle.loads(pickle.dumps(func)) is func
