"""Run a function from many real threads at once (each with its own database connection)."""

import threading

from django.db import connection


def run_at_once(func, args_list, *, timeout=60):
    """Call func(*args) for each args tuple in its own thread, all released together by a Barrier.

    Each thread opens its connection before the barrier, so the race is the work itself. Returns one
    (result, exception) pair per call, in order; always closes each thread's connection.
    """
    barrier = threading.Barrier(len(args_list))
    outcomes = [None] * len(args_list)

    def worker(index, args):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=timeout)
            outcomes[index] = (func(*args), None)
        except Exception as exc:  # noqa: BLE001 - handed back to the test to assert on
            outcomes[index] = (None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, args)) for i, args in enumerate(args_list)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return outcomes
