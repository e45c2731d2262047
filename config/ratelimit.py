"""Rate limits per account and per client address on the fans' busiest requests: log-in, sign-up, queue entry,
the waiting room's status poll, the seat map, hold, pay, top-up and the draw's public record; and who hit them,
for staff.

`@rate_limited("hold")` goes on the view after login_required (the account is known) and before anything
that does work. Over a limit the view never runs, so nothing changed: the answer is 429 Too Many Requests
with Retry-After, a page in the site's layout (or JSON, for the poll).

How it counts: a fixed window per key. The first request let through opens the key's window for the
action's `seconds` (settings.RATE_LIMITS). A request is let through when every key it counts against is
under its limit, and then counts against each: the account (the signed-in fan, or for log-in the e-mail
address typed in from this client address: never the e-mail alone, which would let anyone lock a fan out)
and the client address (config.lockout.client_ip, the address django-axes counts:
X-Forwarded-For only behind TRUSTED_PROXY_COUNT proxies; an IPv6 address counts by its /64, which one
household holds). A refused request counts against none: a client that keeps hammering gets through again
when its window ends, and a bot refused by its account's limit does not spend the budget of the address it
shares with other fans. Fixed windows rather than sliding ones: one small hash per key and an exact
Retry-After (the window's end); the price, up to twice a limit around a window's end, is within limits this
generous.

Where: Redis (settings.REDIS_URL, the shared client and circuit breaker of config.redis_circuit). Checking
and counting are one Lua script, so N requests at once against a limit of K let exactly K through. Without
REDIS_URL (the embedded `make run`) the Django cache counts, by read-modify-write: close enough for one
development server. A store that cannot be reached (a Redis outage, the breaker open) lets the request
through with a warning in the log: a limiter never turns an outage into a 500, nor stops a sale.

Who: each refusal adds one to the refused key in this hour's sorted sets (per kind, and per kind and
action), kept 25 hours; top_offenders() adds up the last 24 for the waiting rooms' admin page. The keys are
in one Redis, not spread over a Cluster: the script touches an account's and an address's keys together.
"""

import dataclasses
import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar, cast

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from .lockout import client_ip, wants_json
from .redis_circuit import UNREACHABLE, RedisSkipped, breaker_for
from .redis_circuit import client as redis_client
from .refusals import Refusal, RefusalCode

logger = logging.getLogger(__name__)

Kind = Literal["account", "ip"]
KINDS: tuple[Kind, ...] = ("account", "ip")
OFFENDER_HOURS = 24  # top_offenders() adds up this many hourly sets
OFFENDER_TTL_SECONDS = (OFFENDER_HOURS + 1) * 3600

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


class RateLimited(Refusal):
    """Too many requests of one kind from one account or one address: nothing was done; try again after
    `retry_after` seconds (the end of the window that refused it)."""

    status = 429
    code = RefusalCode.RATE_LIMITED
    default_message = _("Too many requests in a short time. Nothing was done: please try again in a moment.")

    def __init__(self, retry_after: int, message: StrOrPromise | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message if message is not None else _wait_message(retry_after))


def _wait_text(seconds: int) -> str:
    if seconds >= 90:
        minutes = math.ceil(seconds / 60)
        return ngettext(
            "Too many requests in a short time. Nothing was done: please try again in %(minutes)d minute.",
            "Too many requests in a short time. Nothing was done: please try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    return ngettext(
        "Too many requests in a short time. Nothing was done: please try again in %(seconds)d second.",
        "Too many requests in a short time. Nothing was done: please try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


# Translated when shown, like every refusal's message (the English `reason` is read from the same text).
_wait_message = lazy(_wait_text, str)


@dataclasses.dataclass(frozen=True)
class Counter:
    """One key a request counts against: its window's store key, who it is as staff read it, its limit."""

    kind: Kind
    key: str
    label: str  # the account's e-mail address, or the client address
    limit: int
    seconds: int


# --- which keys a request counts against ---------------------------------------------------------------


@functools.cache
def _networks(configured: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(network, strict=False) for network in configured)


def client_address(request: HttpRequest) -> str:
    """The address a request counts against: config.lockout.client_ip, an IPv6 address as its /64."""
    found = client_ip(request)
    if not found:
        return "unknown"
    try:
        address = ipaddress.ip_address(found)
    except ValueError:
        return found[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _exempt(address: str) -> bool:
    networks = _networks(tuple(settings.RATE_LIMIT_EXEMPT_NETWORKS))
    if not networks:
        return False
    try:
        candidate = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return False
    # The address (an IPv6 one as its /64) lies wholly inside an exempt network.
    return any(
        candidate.network_address in network and candidate.prefixlen >= network.prefixlen for network in networks
    )


def counters_for(
    action: str,
    request: HttpRequest,
    *,
    account_field: str | None = None,
    account: tuple[str, str] | None = None,
) -> list[Counter]:
    """The keys `request` counts against for `action` (none from an exempt address, none with limits off).

    The account is the e-mail address typed into `account_field` together with the client address when given
    (log-in: nobody is signed in yet), else `account` when given (the user's pk and label, known without loading
    the session: the waiting room's fast poll), else the signed-in user; an anonymous request counts against its
    address only.
    """
    if not settings.RATE_LIMITS_ENABLED:
        return []
    address = client_address(request)
    if _exempt(address):
        return []
    limits = settings.RATE_LIMITS[action]
    prefix = f"{settings.RATE_LIMIT_REDIS_PREFIX}:{action}"
    found: list[Counter] = []
    account_key, account_label = None, ""
    # No account limit: the account is not even read, so a public page limited per address reads no session
    # (and its answer does not vary by cookie).
    counts_accounts = limits["account"] > 0
    if counts_accounts and account_field is not None:
        typed = str(request.POST.get(account_field, "")).strip().lower()[:254]
        if typed:  # hashed in the key: any text, any length, fits any cache's keys
            # The pair (e-mail typed, address), never the e-mail alone: anyone can type a fan's e-mail, so a
            # count of the e-mail alone would let ten posts a minute from anywhere refuse that fan's own
            # log-ins. django-axes locks the same pairs (AXES_LOCKOUT_PARAMETERS) for the same reason. A
            # guesser spreading over many addresses meets each address's own limit and axes' lockout instead.
            pair = f"{typed}\n{address}"
            account_key = "typed:" + hashlib.sha256(pair.encode()).hexdigest()[:32]
            account_label = typed
    elif counts_accounts and account is not None:
        account_key, account_label = account
    elif counts_accounts and request.user.is_authenticated:
        account_key, account_label = str(request.user.pk), str(getattr(request.user, "email", request.user.pk))
    if account_key:
        found.append(
            Counter("account", f"{prefix}:account:{account_key}", account_label, limits["account"], limits["seconds"])
        )
    if limits["ip"]:
        found.append(Counter("ip", f"{prefix}:ip:{address}", address, limits["ip"], limits["seconds"]))
    return found


# --- counting -----------------------------------------------------------------------------------------------

# KEYS: n window hashes (n: requests let through, reset: epoch ms the window ends), then n sorted sets of
# this hour's refusals per kind, then n per kind and action. ARGV: now (epoch ms), the sorted sets' TTL (s),
# then limit, window (ms) and staff's label per counter. Returns 0 (let through, counted) or the ms until
# the last refusing window ends (refused, counted nowhere; the refusal noted per refusing key).
CHECK = """
local n = #KEYS / 3
local now = tonumber(ARGV[1])
local counts, wait = {}, 0
for i = 1, n do
  local limit = tonumber(ARGV[3 * i])
  local kept = redis.call('HMGET', KEYS[i], 'n', 'reset')
  local count = 0
  if kept[1] and tonumber(kept[2]) > now then
    count = tonumber(kept[1])
    if count >= limit then
      wait = math.max(wait, tonumber(kept[2]) - now)
      for _, set in ipairs({KEYS[n + i], KEYS[2 * n + i]}) do
        redis.call('ZINCRBY', set, 1, ARGV[3 * i + 2])
        redis.call('EXPIRE', set, ARGV[2])
      end
    end
  end
  counts[i] = count
end
if wait > 0 then
  return wait
end
for i = 1, n do
  if counts[i] == 0 then
    local window = tonumber(ARGV[3 * i + 1])
    redis.call('HSET', KEYS[i], 'n', 1, 'reset', now + window)
    redis.call('PEXPIRE', KEYS[i], window)
  else
    redis.call('HINCRBY', KEYS[i], 'n', 1)
  end
end
return 0
"""


def _hour(now: float) -> str:
    return time.strftime("%Y%m%d%H", time.gmtime(now))


def _offender_key(kind: Kind, hour: str, action: str | None = None) -> str:
    middle = f"{kind}:{action}" if action else kind
    return f"{settings.RATE_LIMIT_REDIS_PREFIX}:offenders:{middle}:{hour}"


@functools.cache
def _script(url: str) -> Any:
    return redis_client(url).register_script(CHECK)


def _count_in_redis(action: str, counters: list[Counter], now: float) -> int:
    hour = _hour(now)
    keys = [counter.key for counter in counters]
    keys += [_offender_key(counter.kind, hour) for counter in counters]
    keys += [_offender_key(counter.kind, hour, action) for counter in counters]
    args: list[str | int] = [int(now * 1000), OFFENDER_TTL_SECONDS]
    for counter in counters:
        args += [counter.limit, counter.seconds * 1000, counter.label]
    with breaker_for(settings.REDIS_URL).guard():
        return int(_script(settings.REDIS_URL)(keys=keys, args=args))


def _count_in_cache(action: str, counters: list[Counter], now: float) -> int:
    """The same rule in the Django cache (no REDIS_URL): read, decide, write; not atomic."""
    cache = caches["default"]
    now_ms = int(now * 1000)
    kept: dict[str, Any] = cache.get_many([counter.key for counter in counters])
    windows, wait, refused = {}, 0, []
    for counter in counters:
        count, reset = kept.get(counter.key) or (0, 0)
        if reset <= now_ms:
            count, reset = 0, now_ms + counter.seconds * 1000
        windows[counter.key] = (count, reset)
        if count >= counter.limit:
            wait = max(wait, reset - now_ms)
            refused.append(counter)
    if refused:
        hour = _hour(now)
        for counter in refused:
            for key in (_offender_key(counter.kind, hour), _offender_key(counter.kind, hour, action)):
                tally: dict[str, int] = cache.get(key) or {}
                tally[counter.label] = tally.get(counter.label, 0) + 1
                cache.set(key, tally, OFFENDER_TTL_SECONDS)
        return wait
    for counter in counters:
        count, reset = windows[counter.key]
        cache.set(counter.key, (count + 1, reset), max(1, math.ceil((reset - now_ms) / 1000)))
    return 0


_COUNTED = "_rate_limits_counted"


def _mark_counted(request: HttpRequest, action: str) -> None:
    counted: set[str] | None = getattr(request, _COUNTED, None)
    if counted is None:
        counted = set()
        setattr(request, _COUNTED, counted)
    counted.add(action)


def _was_counted(request: HttpRequest, action: str) -> bool:
    return action in getattr(request, _COUNTED, ())


def check_rate_limit(
    action: str,
    request: HttpRequest,
    *,
    account_field: str | None = None,
    account: tuple[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Count `request` against its account's and address's limits for `action`, or raise RateLimited.

    Raises RateLimited (429, with retry_after) when a key is at its limit; then nothing is counted against
    any key and the refusal is noted for top_offenders. Atomic with Redis. Lets the request through, with a
    warning in the log, when the store cannot be reached. `now`: epoch seconds (tests move time).

    A request let through is marked as counted for `action`: @rate_limited(action) on the view it then reaches
    does not count it again (the waiting room's fast poll counts before it knows whether it can answer, and
    the polls it cannot answer go on to the status view).
    """
    counters = counters_for(action, request, account_field=account_field, account=account)
    _mark_counted(request, action)  # a refusal answers 429 at once: no view runs to count it again
    _count(action, counters, now)


def check_account_limit(action: str, *, account: tuple[str, str], now: float | None = None) -> None:
    """Count one use of `action` against `account` (its key, and its label for staff: the e-mail address), or
    raise RateLimited: check_rate_limit without a request, for work done off the request path (a job) whose
    limit is per account whoever asked and from wherever. Only `action`'s account limit applies; no limit (0)
    or limits off count nothing. Lets the use through, with a warning in the log, when the store cannot be
    reached."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    limits = settings.RATE_LIMITS[action]
    if not limits["account"]:
        return
    key = f"{settings.RATE_LIMIT_REDIS_PREFIX}:{action}:account:{account[0]}"
    _count(action, [Counter("account", key, account[1], limits["account"], limits["seconds"])], now)


def _count(action: str, counters: list[Counter], now: float | None) -> None:
    """Count against every counter, or raise RateLimited and count against none (see check_rate_limit)."""
    if not counters:
        return
    now = time.time() if now is None else now
    try:
        wait_ms = (
            _count_in_redis(action, counters, now) if settings.REDIS_URL else _count_in_cache(action, counters, now)
        )
    except RedisSkipped:
        return  # the breaker logged the outage when it opened
    except UNREACHABLE as exc:
        logger.warning("rate limit %s not checked, request let through: Redis did not answer (%r)", action, exc)
        return
    except Exception as exc:  # anything else (a refused command, the database cache failing): never a 500
        logger.warning("rate limit %s not checked, request let through: %r", action, exc, exc_info=True)
        return
    if wait_ms > 0:
        raise RateLimited(retry_after=max(1, math.ceil(wait_ms / 1000)))


# --- the answer ---------------------------------------------------------------------------------------


def _back_url(request: HttpRequest) -> str:
    """The page of this site the request came from (its Referer), to go back to; "" if none."""
    referer = str(request.META.get("HTTP_REFERER", ""))
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return ""


def limited_response(request: HttpRequest, refusal: RateLimited, *, json: bool = False) -> HttpResponse:
    """The 429: JSON ({"error", "code", "retry_after"}) for a script, else the page in the site's layout
    (a GET offers a link to itself for when the window ends: no page reloads by itself, which would take a reader's
    place on the page away unasked, WCAG 2.2.1). Retry-After in both; never cached."""
    response: HttpResponse
    if json or wants_json(request):
        response = JsonResponse(
            {"error": str(refusal.message), "code": refusal.code, "retry_after": refusal.retry_after},
            status=refusal.status,
        )
    else:
        context = {
            "message": refusal.message,
            "retry_after": refusal.retry_after,
            "retry_url": request.get_full_path() if request.method in ("GET", "HEAD") else "",
            "back_url": _back_url(request),
        }
        response = TemplateResponse(request, "429.html", context, status=refusal.status).render()
    response["Retry-After"] = str(refusal.retry_after)
    add_never_cache_headers(response)
    return response


def rate_limited(
    action: str, *, methods: Iterable[str] | None = None, account_field: str | None = None, json: bool = False
) -> Callable[[_View], _View]:
    """Decorate a view: over `action`'s limits it answers 429 (limited_response) and never runs.

    `methods`: only requests with these methods count (e.g. the POST of a page that also answers GET).
    `account_field`: the form field naming the account when nobody is signed in yet (log-in).
    `json`: answer JSON, for a view scripts call.
    A request check_rate_limit already counted for `action` (before the view: the fast poll) is not counted again.
    """
    if action not in settings.RATE_LIMITS:
        raise ImproperlyConfigured(f"no rate limit named {action!r}: add it to RATE_LIMIT_DEFAULTS")
    only = frozenset(method.upper() for method in methods) if methods else None

    def decorator(view: _View) -> _View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if (only is None or request.method in only) and not _was_counted(request, action):
                try:
                    check_rate_limit(action, request, account_field=account_field)
                except RateLimited as refusal:
                    return limited_response(request, refusal, json=json)
            return view(request, *args, **kwargs)

        return cast(_View, wrapped)

    return decorator


# --- staff: who hit the limits ------------------------------------------------------------------------


def top_offenders(
    kind: Kind, limit: int = 10, *, action: str | None = None, now: float | None = None
) -> list[tuple[str, int]]:
    """The accounts (e-mail addresses) or client addresses refused most often over the last 24 hours, with
    how many times, most first: over every action, or one. [] when the store cannot be reached."""
    if kind not in KINDS:
        raise ValueError(f"kind is 'account' or 'ip', not {kind!r}")
    now = time.time() if now is None else now
    keys = [_offender_key(kind, _hour(now - 3600 * back), action) for back in range(OFFENDER_HOURS)]
    totals: dict[str, int] = {}
    try:
        if settings.REDIS_URL:
            with breaker_for(settings.REDIS_URL).guard():
                rows = redis_client(settings.REDIS_URL).zunion(keys, withscores=True)
            totals = {member.decode(): int(score) for member, score in cast(list[tuple[bytes, float]], rows)}
        else:
            for tally in caches["default"].get_many(keys).values():
                for label, hits in tally.items():
                    totals[label] = totals.get(label, 0) + hits
    except Exception as exc:  # staff's page shows nothing rather than failing
        logger.warning("rate limit offenders not read: %r", exc)
        return []
    return sorted(totals.items(), key=lambda row: (-row[1], row[0]))[:limit]
