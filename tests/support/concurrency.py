"""Run a function from many real threads at once (each with its own database connection)."""

import threading
from contextlib import contextmanager

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


def run_on_another_connection(work):
    """Run work() to the end on another thread with its own database connection (so it commits on its
    own), and return its result or raise its error here."""
    ((result, error),) = run_at_once(work, [()])
    if error is not None:
        raise error
    return result


@contextmanager
def meanwhile(target, name, work, *, before=False, when=None):
    """Patch `target.name` so that, the first time it is called on this thread, work() runs to the end on
    another connection right after it returns (or right before, with before=True).

    A test replays "staff's request read the row, a fan changed it, then staff's request wrote" with it:
    e.g. meanwhile(BaseModelForm, "full_clean", pay) runs the payment after the admin built its form from
    the row and before it validates and saves. `when(*args, **kwargs)` picks the call (default: the first).
    Yields a list holding work()'s result once it ran.
    """
    original = getattr(target, name)
    caller = threading.get_ident()
    ran = []

    def patched(*args, **kwargs):
        due = not ran and threading.get_ident() == caller and (when is None or when(*args, **kwargs))
        if due and before:
            ran.append(run_on_another_connection(work))
        result = original(*args, **kwargs)
        if due and not before:
            ran.append(run_on_another_connection(work))
        return result

    setattr(target, name, patched)
    try:
        yield ran
    finally:
        setattr(target, name, original)


def run_together(count, work):
    """Run work(i) in `count` threads released together by a barrier; return results (or raise the first error)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results
