"""Redis restarted while boards stream: the bus reconnects and the boards get every event, in
order, including those committed while Redis was down (the hub repairs from the event log)."""

from __future__ import annotations

from tests.faults.conftest import (
    BoardClient,
    RedisServer,
    WebProcess,
    login,
    new_order,
    wait_until,
    web_env,
)


def test_a_redis_restart_loses_no_event(fault_database: str, own_redis: RedisServer) -> None:
    env = web_env(fault_database, REDIS_URL=own_redis.url)
    first, second = WebProcess(env), WebProcess(env)
    boards: list[BoardClient] = []
    try:
        token = login(first.url)
        board = BoardClient(second.url, login(second.url))  # events cross Redis to reach it
        boards.append(board)
        for n in range(5):
            assert new_order(first.url, token, n).status_code == 201
        wait_until(lambda: len(board.created()) == 5, 20, "events flow through Redis")
        own_redis.kill()
        for n in range(5, 10):  # committed while the bus is down
            assert new_order(first.url, token, n).status_code == 201
        own_redis.start()
        for n in range(10, 15):
            assert new_order(first.url, token, n).status_code == 201
        wait_until(lambda: len(board.created()) == 15, 60, "every event after the restart")
        seqs = [seq for seq, _, _ in board.events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # in order, no gap, no double
        assert not board.closed.is_set()  # the board itself never noticed
    finally:
        for b in boards:
            b.close()
        first.stop()
        second.stop()
