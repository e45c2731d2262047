"""The rush: a sale day played against the full stack over real HTTP (`make bench`; see bench/README.md).

1. Stack: starts `honcho start -f Procfile` (two gunicorn instances, Celery worker + beat, RQ worker) with
   the production settings, unless --no-stack points it at one already running.
2. Setup (not timed): a concert with enough dates for the fans, its waiting room, N fans with wallets
   topped up through wallet.services.charge and sessions created server-side (a few log in through the
   real form; Argon2 on two cores would otherwise be the whole benchmark).
3. Yardstick (closed loop, quiet stack): the plain /hello/ view, the queue status poll and the seat map,
   each hammered by the same number of workers for the same time, so their requests/s compare.
4. Rush: every fan opens the concert page within a few seconds of the sale opening, picks a date, joins
   the waiting room, polls the status as the page's JavaScript does (poll_seconds and jitter), and once
   admitted opens the seat map, holds 1-2 random free seats and pays; 10% abandon their hold, 5% cancel
   later, a few double-click "pay". Every request goes to the other instance than the fan's last one.
5. Checks against the database: no seat with two live reservations, every RESERVED seat has exactly one
   CONFIRMED reservation with one SUCCESS payment, wallets reconcile, admission was FIFO, no 5xx.

Prints the report and writes it (JSON and text) to bench/results/. Exit status 1 if a check failed.

Run from the repository root: `python -m bench.rush --help` (`make bench` does so with the production
settings). The modules, one job each: __main__ (options and the run in order), stack (honcho), fixtures
(setup through the services), client (a fan's browser over HTTP), metrics and cpu (measurements),
yardstick, scenario (the fan's journey, the rush), checks (the database afterwards), report.
"""
