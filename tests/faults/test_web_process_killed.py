"""A web process killed with SIGKILL while boards stream: the boards of the other process see
nothing of it, and the boards that were on it reconnect to the other with ``since`` and get the
rest, nothing lost or doubled. The relay's leadership moves if the killed process held it.

PostgreSQL and Redis as in production; two uvicorn processes as the Procfile's web processes.
"""

from __future__ import annotations

import itertools

from tests.conftest import REDIS_URL, require_service
from tests.faults.conftest import BoardClient, WebProcess, login, new_order, wait_until, web_env


def _seqs(board: BoardClient) -> list[int]:
    return [seq for seq, _, _ in board.events]


def test_a_killed_web_process_loses_nothing_for_anyone(fault_database: str) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    env = web_env(fault_database, REDIS_URL=REDIS_URL)
    first, second = WebProcess(env), WebProcess(env)
    boards: list[BoardClient] = []
    try:
        token = login(second.url)
        on_first = BoardClient(first.url, login(first.url))
        on_second = BoardClient(second.url, token)
        boards += [on_first, on_second]
        ids = []
        for n in range(10):
            made = new_order(second.url, token, n)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        wait_until(lambda: len(on_first.created()) >= 5, 20, "the first board streams")
        first.kill()  # mid-stream: some of the ten may not have reached its board
        wait_until(on_first.closed.is_set, 10, "the killed process's board notices")
        for n in range(10, 20):
            made = new_order(second.url, token, n)
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
        wait_until(lambda: len(on_second.created()) == 20, 30,
                   "the other process's board gets every event")
        seqs = _seqs(on_second)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, no gap, no double
        assert all(i in data for i, data in zip(ids, on_second.created(), strict=True))

        resumed = BoardClient(second.url, token, since=on_first.last_seq)
        boards.append(resumed)
        wait_until(lambda: resumed.last_seq >= on_second.last_seq, 30,
                   "the reconnected board catches up")
        together = _seqs(on_first) + _seqs(resumed)
        assert resumed.snapshot_seq is None  # resumed from the log, not a fresh snapshot
        assert together == sorted(set(together))  # nothing doubled
        assert [s for s in together if s >= seqs[0]] == seqs  # nothing lost
        assert list(itertools.chain(on_first.created(), resumed.created())) == \
            on_second.created()
    finally:
        for board in boards:
            board.close()
        first.stop()
        second.stop()
