"""The rush: a sale day played against the full stack over real HTTP (`make bench`; see bench/README.md).

1. Stack: starts `honcho start -f Procfile` (two gunicorn instances, Celery worker + beat, RQ worker) with
   the production settings, unless --no-stack points it at one already running.
2. Setup (not timed): a concert with enough dates for the fans, its waiting room, N fans with wallets
   topped up through wallet.services.charge and sessions created server-side (a few log in through the
   real form; Argon2 on two cores would otherwise be the whole benchmark).
3. Yardstick (closed loop, quiet stack): the plain /hello/ view, the queue status poll, the waiting-room
   page, the concert page and the seat map, each hammered by the same number of workers for the same
   time, so their requests/s compare.
4. Rush: with the pre-queue (the default) most fans arrive over a window before the opening, open the
   concert page and enter the pre-queue through its form (solving the entry challenge when the form has
   one), then poll the status as the page's JavaScript does (poll_seconds and jitter) until the draw's
   place admits them; the rest arrive after the opening and queue behind the draw (--no-prequeue: every
   fan arrives within a few seconds of the opening instead). Admitted, a fan picks a date on the concert
   page, opens the seat map, holds 1-2 random free seats and pays; 10% abandon their hold, 5% cancel
   later, a few double-click "pay". Every request goes to the other instance than the fan's last one.
   --api sends the same fans through the JSON API instead (a personal access token each, the same journey step
   for step: api_scenario), its figures per API operation. --bots N adds scripted clients that skip the pages and
   hammer join, poll and hold.
5. Checks against the database: no seat with two live reservations, every RESERVED seat has exactly one
   CONFIRMED reservation with one SUCCESS payment, wallets reconcile, admission followed places, the draw
   followed its committed seed, arrivals after the opening queued behind it in arrival order, no bot got
   ahead; and from the requests: no 5xx, no 429 for a fan.

Prints the report and writes it (JSON and text) to bench/results/. Exit status 1 if a check failed.

Run from the repository root: `python -m bench.rush --help` (`make bench` does so with the production
settings). The modules, one job each: __main__ (options and the run in order), stack (honcho), fixtures
(setup through the services), client (a fan's browser over HTTP), challenge (a join form's entry
challenge), metrics, cpu and servers (measurements: requests, CPU, PostgreSQL's and Redis's work), yardstick,
scenario (the fan's journey, the rush), api_client and api_scenario (--api: a fan's app, the journey through the
JSON API), bots, checks (the database afterwards), report, compare (two reports side by side).
"""
