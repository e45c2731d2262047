"""The queue in Redis: sorted sets per concert, changed by Lua scripts so each step is atomic.

Keys (every one starts with settings.QUEUE_REDIS_PREFIX and carries the concert id as a hash tag, so
one concert's keys would sit on one Redis Cluster shard and a script may touch them all):

    <prefix>:{<concert>}:seq       INCR counter: the last place handed out
    <prefix>:{<concert>}:waiting   ZSET user id -> place (ZRANK is the number of fans ahead, O(log n))
    <prefix>:{<concert>}:admitted  ZSET user id -> admission end, epoch microseconds
    <prefix>:{<concert>}:tokens    HASH user id -> "token|place|joined µs[|admitted µs]"
    <prefix>:{<concert>}:unwritten HASH "<token>:a" -> "user|data" (admitted), "<token>:x" ->
                                   "user|exit µs|reason|data" (ended): what QueueEntryHistory may not
                                   show yet; written by the same script as the change, deleted once the
                                   history shows it (see unwritten_history)
    <prefix>:{<concert>}:room      STRING what a status poll needs of the WaitingRoom row and its concert,
                                   kept a few seconds (queueing/services/_mirror.py): the poll's
                                   fast path reads it with the fan's place in one script (FAST_STATUS)
    <prefix>:{<concert>}:lease:<t> short SET NX lease for an overdue admission run from a status poll
    <prefix>:{<concert>}:pre       HASH user id -> "token|receipt|joined µs": the pre-queue, until the draw
    <prefix>:{<concert>}:preseq    INCR counter: the last pre-queue arrival number (receipts are made of it)
    <prefix>:{<concert>}:receipts  HASH user id -> receipt, for live entries that came through the pre-queue
    <prefix>:{<concert>}:draw      HASH "_" -> fans drawn, "_at" -> when, user id -> "token|place|receipt|
                                   joined µs": the draw, made visible at once by the script that commits it
                                   (no place is handed out after the opening before "_" exists)
    <prefix>:{<concert>}:stage:id  the draw attempt being staged, and its staged waiting ZSET, tokens HASH
    <prefix>:{<concert>}:stage:waiting, :stage:tokens, :stage:draw   and draw HASH: written in chunks, read
                                   by nobody, moved into place by the commit (they expire if it never comes)

On a Redis Cluster (settings.QUEUE_REDIS_CLUSTER) nothing else changes: every script and every pipeline
names the keys of one concert only, so each runs on the one node that holds that concert's slot (the client
follows MOVED and ASK), and different concerts spread over the nodes; a script a node has not cached yet is
sent to that node alone (_Script), never loaded on every node. No command lists keys (SCAN, KEYS) or
spans concerts. A node that does not answer makes its own concerts unavailable, not the others' (one
breaker per node, see _breaker).

Times come from the caller (`now=`), so tests can move them, except in touch(), which reads Redis's
own clock (TIME) unless a time is injected: a fan whose pages land on app servers with different
clocks still has one admission end. A place is only given away by ending the admission that held it
(in the admission run, the only script that admits), so touch() cannot bring it back whatever the
clocks say. A Redis that cannot be reached raises QueueUnavailable, at once while its circuit breaker is
open (config.redis_circuit: one timeout per back-off per process, shared with the cache and the sessions).
"""

import datetime
import functools
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from redis import Redis
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError, SlotNotCoveredError

from config.redis_circuit import UNREACHABLE, Breaker, breaker_for, cluster_client
from config.redis_circuit import client as redis_client
from queueing.draw import draw_order, is_receipt
from queueing.exceptions import QueueUnavailable
from queueing.models import WaitingRoom

from .base import (
    AdmitResult,
    ArrivalFloorNeeded,
    DrawnPlaces,
    DrawPending,
    DrawResult,
    HistoryNote,
    JoinResult,
    QueueBackend,
    SaleChanged,
    Ticket,
    arrival_key,
)

logger = logging.getLogger(__name__)

# The draw reads the pre-queue, orders it, stages the places in chunks and commits them in one script that
# checks the pre-queue is still what was read; a join or a leave in between makes it read again, at most
# this many times.
DRAW_ATTEMPTS = 5
# The room's mirror (queueing/services/_mirror.py) is kept under a name of its own per layout of its fields: a
# web process of the previous release reads only the name it knows, so during a rolling deploy it misses a
# mirror in the new layout (its polls take the full path) instead of failing to read it. Was "room" (five fields).
MIRROR = "room-v2"
# Entrants per staging script: each call holds Redis's single thread for a few milliseconds, well inside the
# client's socket timeout, so a 100,000-entrant draw never stalls the other concerts, sessions and caches.
DRAW_CHUNK = 5_000
# Staged places of an attempt that never commits (its process died) expire after this long.
DRAW_STAGE_MS = 600_000

# Times are integer epoch microseconds (exact in a Lua double until the year 2255), always passed on as
# strings or through string.format('%d'), since Lua's own number-to-string conversion keeps 14 digits.

# Notes of admissions and ends for QueueEntryHistory (the `unwritten` hash), written in the same atomic
# step as the change they describe. Each field is written once (a token is admitted once, ends once).
NOTES = """
local function note_admitted(key, user, data)
  redis.call('HSET', key, string.match(data, '^[^|]+') .. ':a', user .. '|' .. data)
end
local function note_ended(key, user, data, at, reason)
  redis.call('HSET', key, string.match(data, '^[^|]+') .. ':x', user .. '|' .. at .. '|' .. reason .. '|' .. data)
end
-- Ends every admission whose time ran out by `now` (noted for the history); returns {user, data, end, ...}.
local function end_ran_out(admitted, tokens, unwritten, now, receipts)
  local ended = {}
  local ran_out = redis.call('ZRANGEBYSCORE', admitted, '-inf', now, 'WITHSCORES')
  for i = 1, #ran_out, 2 do
    local user = ran_out[i]
    local data = redis.call('HGET', tokens, user)
    redis.call('ZREM', admitted, user)
    redis.call('HDEL', tokens, user)
    redis.call('HDEL', receipts, user)
    if data then
      note_ended(unwritten, user, data, ran_out[i + 1], 'expired')
      ended[#ended + 1] = user
      ended[#ended + 1] = data
      ended[#ended + 1] = ran_out[i + 1]
    end
  end
  return ended
end
"""

# KEYS: seq, waiting, admitted, tokens, unwritten, pre, preseq, receipts, draw, sale.
# ARGV: user, new token, now µs, phase ('pre' before the opening, else 'open'), arrival floor ('' or the history's
# highest arrival number, asked for by {-2} when the counter is missing), the sale the join is for (a sale tag, or
# '' for no check; a room whose key is missing, new or lost, takes the join's).
# Returns {created (0/1), data, admission end or '', replaced data or '', replaced end or '', rank or -1,
# receipt or ''}; or {-1} when the sale is open but the draw has not run (the caller runs it and joins again);
# or {-2} when a pre-queue entry needs the arrival floor; or {-3} when the room serves another sale (CLOSE_SALE has
# run since the caller checked). A new place is always a waiting one: admission (at the room's rate) is the
# admission run's alone.
JOIN = (
    NOTES
    + """
local user, now = ARGV[1], tonumber(ARGV[3])
if ARGV[6] ~= '' then
  local sale = redis.call('GET', KEYS[10])
  if not sale then
    redis.call('SET', KEYS[10], ARGV[6])
  elseif sale ~= ARGV[6] then
    return {-3}
  end
end
if redis.call('HEXISTS', KEYS[9], '_') == 0 then
  if ARGV[4] ~= 'pre' then return {-1} end
  local entry = redis.call('HGET', KEYS[6], user)
  if entry then return {0, entry, '', '', '', -1, ''} end
  if redis.call('EXISTS', KEYS[7]) == 0 then
    -- No arrival counter: a new room, or a Redis that lost its data. Never hand out a receipt twice.
    if ARGV[5] == '' then return {-2} end
    redis.call('SET', KEYS[7], ARGV[5])
  end
  local receipt = string.format('P%06d', redis.call('INCR', KEYS[7]))
  local data = ARGV[2] .. '|' .. receipt .. '|' .. ARGV[3]
  redis.call('HSET', KEYS[6], user, data)
  redis.call('HSET', KEYS[8], user, receipt)
  return {1, data, '', '', '', -1, receipt}
end
local replaced, replaced_end = '', ''
local current = redis.call('HGET', KEYS[4], user)
if current then
  local ends = redis.call('ZSCORE', KEYS[3], user)
  local receipt = redis.call('HGET', KEYS[8], user) or ''
  if ends and tonumber(ends) > now then
    return {0, current, ends, '', '', -1, receipt}
  elseif ends then
    redis.call('ZREM', KEYS[3], user)
    redis.call('HDEL', KEYS[4], user)
    redis.call('HDEL', KEYS[8], user)
    note_ended(KEYS[5], user, current, ends, 'expired')
    replaced, replaced_end = current, ends
  elseif redis.call('ZSCORE', KEYS[2], user) then
    return {0, current, '', '', '', redis.call('ZRANK', KEYS[2], user), receipt}
  else
    redis.call('HDEL', KEYS[4], user)
  end
end
local place = redis.call('INCR', KEYS[1])
local data = ARGV[2] .. '|' .. place .. '|' .. ARGV[3]
local rank = redis.call('ZCARD', KEYS[2])  -- places only grow, so the newcomer is last
redis.call('ZADD', KEYS[2], place, user)
redis.call('HSET', KEYS[4], user, data)
return {1, data, '', replaced, replaced_end, rank, ''}
"""
)

# KEYS: seq, waiting, admitted, tokens, pre, receipts, draw, the room's mirror, sale, stage:id, stage:waiting,
# stage:tokens, stage:draw. ARGV: the next sale's tag.
# Drops the sale's live places (placed ones and pre-queue entries), draw and place counter, and makes the room serve
# the next sale; the arrival counter (preseq) goes on, and nothing is noted (the caller ends the sale's visits in
# the history in one UPDATE). UNLINK frees a big queue's memory off Redis's main thread.
CLOSE_SALE = """
redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[10], KEYS[11],
  KEYS[12], KEYS[13])
redis.call('SET', KEYS[9], ARGV[1])
return 1
"""

# The draw, in three kinds of script so that no single call holds Redis for long, and the client parses
# few replies: a read, chunks of staging, and a commit.
#
# DRAW_READ: KEYS: pre, preseq, seq. Returns {arrival counter or '', last place handed out or '0', the
# pre-queue as one string: "user|token|receipt|joined µs" lines} (one reply instead of 200,000).
DRAW_READ = """
local entries = redis.call('HGETALL', KEYS[1])
local lines = {}
for i = 1, #entries, 2 do lines[#lines + 1] = entries[i] .. '|' .. entries[i + 1] end
return {redis.call('GET', KEYS[2]) or '', redis.call('GET', KEYS[3]) or '0', table.concat(lines, '\\n')}
"""

# DRAW_STAGE writes one chunk of the drawn places into the staging keys, which nobody else reads.
# KEYS: stage:id, stage:waiting, stage:tokens, stage:draw. ARGV: attempt id, first ('1' starts the attempt:
# whatever an earlier, dead attempt staged is dropped), expiry ms, the chunk's first place, then the chunk's
# entrants in drawn order as "user|token|receipt|joined µs" lines. Returns 1, or 0 when another attempt has
# started since (this one must stop).
DRAW_STAGE = """
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
elseif redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
-- Variadic ZADD/HSET, 1,000 entrants a call: Lua's unpack() cannot spread many thousands of values.
local place = tonumber(ARGV[4])
local places, tokens, drawn = {}, {}, {}
local function flush()
  if #places == 0 then return end
  redis.call('ZADD', KEYS[2], unpack(places))
  redis.call('HSET', KEYS[3], unpack(tokens))
  redis.call('HSET', KEYS[4], unpack(drawn))
  places, tokens, drawn = {}, {}, {}
end
for user, token, receipt, joined in string.gmatch(ARGV[5], '([^|\\n]+)|([^|\\n]+)|([^|\\n]+)|([^|\\n]+)') do
  local at = string.format('%d', place)
  places[#places + 1] = at
  places[#places + 1] = user
  tokens[#tokens + 1] = user
  tokens[#tokens + 1] = token .. '|' .. at .. '|' .. joined
  drawn[#drawn + 1] = user
  drawn[#drawn + 1] = token .. '|' .. at .. '|' .. receipt .. '|' .. joined
  place = place + 1
  if #places == 2000 then flush() end
end
flush()
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
return 1
"""

# DRAW_COMMIT makes a fully staged draw the draw, all at once (renames, so O(1) for a room whose queue is
# empty, as it is at the opening), or changes nothing.
# KEYS: pre, preseq, seq, waiting, tokens, draw, stage:id, stage:waiting, stage:tokens, stage:draw.
# ARGV: attempt id, count, the arrival counter as read ('' if none), base (the first place is base + 1), place
# floor, now µs. The pre-queue is what was read if the arrival counter has not moved (every pre-queue join
# moves it) and it holds as many entries (a leave lowers that). Returns 1 when committed; 0 when the draw
# had already run (the caller reads it); -1 when the pre-queue, the places or the staging changed (read again).
DRAW_COMMIT = """
if redis.call('HEXISTS', KEYS[6], '_') == 1 then return 0 end
local n = tonumber(ARGV[2])
if redis.call('GET', KEYS[7]) ~= ARGV[1]
  or redis.call('HLEN', KEYS[1]) ~= n
  or (redis.call('GET', KEYS[2]) or '') ~= ARGV[3]
  or math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), tonumber(ARGV[5])) ~= tonumber(ARGV[4])
  or redis.call('ZCARD', KEYS[8]) ~= n or redis.call('HLEN', KEYS[9]) ~= n or redis.call('HLEN', KEYS[10]) ~= n
then
  return -1
end
-- Into an empty key a rename (keeping no expiry); into a live one (a Redis that lost only part of its
-- data) a merge.
local function move_hash(from, to)
  if redis.call('EXISTS', from) == 0 then return end
  if redis.call('EXISTS', to) == 0 then
    redis.call('RENAME', from, to)
    redis.call('PERSIST', to)
    return
  end
  local fields = redis.call('HGETALL', from)
  for i = 1, #fields, 2000 do
    redis.call('HSET', to, unpack(fields, i, math.min(i + 1999, #fields)))
  end
  redis.call('DEL', from)
end
if redis.call('EXISTS', KEYS[8]) == 1 then
  if redis.call('EXISTS', KEYS[4]) == 0 then
    redis.call('RENAME', KEYS[8], KEYS[4])
    redis.call('PERSIST', KEYS[4])
  else
    redis.call('ZUNIONSTORE', KEYS[4], 2, KEYS[4], KEYS[8], 'AGGREGATE', 'MAX')
    redis.call('DEL', KEYS[8])
  end
end
move_hash(KEYS[9], KEYS[5])
move_hash(KEYS[10], KEYS[6])
redis.call('UNLINK', KEYS[1])
redis.call('SET', KEYS[3], string.format('%d', tonumber(ARGV[4]) + n))
redis.call('HSET', KEYS[6], '_', n, '_at', ARGV[6])
redis.call('DEL', KEYS[7])
return 1
"""

# KEYS: waiting, admitted, tokens, pre, receipts. ARGV: user.
# Returns {data, admission end or '', rank or -1, receipt or '', pre-queue size or -1} or {} (a pre-queue entry:
# rank -1, no end, and the pre-queue's size, which the opening's spread of polls follows: HLEN is O(1)).
FIND = """
local function find(waiting, admitted, tokens, pre, receipts, user)
  local current = redis.call('HGET', tokens, user)
  if not current then
    local entry = redis.call('HGET', pre, user)
    if entry then return {entry, '', -1, '', redis.call('HLEN', pre)} end
    return {}
  end
  local receipt = redis.call('HGET', receipts, user) or ''
  local ends = redis.call('ZSCORE', admitted, user)
  if ends then return {current, ends, -1, receipt, -1} end
  local rank = redis.call('ZRANK', waiting, user)
  if rank then return {current, '', rank, receipt, -1} end
  return {}
end
"""
STATUS = FIND + "return find(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])\n"

# The status poll's fast path: STATUS and the room's mirror (KEYS[6], a string kept a few seconds) in one round
# trip. Returns {} without the mirror (the poll takes the full path), else {mirror, then what STATUS returns}.
FAST_STATUS = (
    FIND
    + """
local room = redis.call('GET', KEYS[6])
if not room then return {} end
local found = find(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])
table.insert(found, 1, room)
return found
"""
)

# KEYS: waiting, admitted, tokens, unwritten, receipts. ARGV: now µs, max_active, paused (0/1), limit, active µs.
# Ends run-out admissions, then pops up to `limit` waiting fans while fewer than max_active are admitted.
# Returns {{user, data, end, ...} ended, {user, data, ...} admitted}.
ADMIT = (
    NOTES
    + """
local now = tonumber(ARGV[1])
local admitted = {}
local expired = end_ran_out(KEYS[2], KEYS[3], KEYS[4], ARGV[1], KEYS[5])
if ARGV[3] == '0' then
  local count = math.min(tonumber(ARGV[4]), tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[2]))
  if count > 0 then
    local ends = string.format('%d', now + tonumber(ARGV[5]))
    local batch = redis.call('ZPOPMIN', KEYS[1], count)
    for i = 1, #batch, 2 do
      local user = batch[i]
      local data = redis.call('HGET', KEYS[3], user)
      if data then
        data = data .. '|' .. ARGV[1]
        redis.call('HSET', KEYS[3], user, data)
        redis.call('ZADD', KEYS[2], ends, user)
        note_admitted(KEYS[4], user, data)
        admitted[#admitted + 1] = user
        admitted[#admitted + 1] = data
      end
    end
  end
end
return {expired, admitted}
"""
)

# KEYS: admitted, tokens. ARGV: user, now µs or '' (Redis's clock), active µs, max lifetime µs.
# Returns 1 if admitted now. An admission ended (removed) before this runs is never re-added.
TOUCH = """
local ends = redis.call('ZSCORE', KEYS[1], ARGV[1])
local now
if ARGV[2] == '' then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
else
  now = tonumber(ARGV[2])
end
if not ends or tonumber(ends) <= now then return 0 end
local data = redis.call('HGET', KEYS[2], ARGV[1])
if not data then return 0 end
local admitted_at = tonumber(string.match(data, '^[^|]*|[^|]*|[^|]*|(%d+)$'))
if not admitted_at then return 0 end
local slid = math.min(now + tonumber(ARGV[3]), admitted_at + tonumber(ARGV[4]))
if slid - tonumber(ends) >= 1000000 then
  redis.call('ZADD', KEYS[1], 'XX', string.format('%d', slid), ARGV[1])
end
return 1
"""

# KEYS: waiting, admitted, tokens, unwritten, pre, receipts. ARGV: user, now µs, reason.
# Returns {data, admission end or ''} or {}.
END = (
    NOTES
    + """
local data = redis.call('HGET', KEYS[3], ARGV[1])
if not data then
  data = redis.call('HGET', KEYS[5], ARGV[1])
  if not data then return {} end
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('HDEL', KEYS[6], ARGV[1])
  note_ended(KEYS[4], ARGV[1], data, ARGV[2], ARGV[3])
  return {data, ''}
end
local ends = redis.call('ZSCORE', KEYS[2], ARGV[1]) or ''
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
note_ended(KEYS[4], ARGV[1], data, ARGV[2], ARGV[3])
return {data, ends}
"""
)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def _us(moment: datetime.datetime) -> int:
    """Exact integer epoch microseconds (no float rounding)."""
    return (moment - _EPOCH) // _MICROSECOND


def _moment(us: bytes | str) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=int(float(_decode(us))))


def _decode(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ticket(
    user_id: uuid.UUID | bytes | str,
    data: bytes | str,
    ends: bytes | str | None = None,
    ahead: int | None = None,
    receipt: bytes | str = "",
    prequeue_size: int | None = None,
) -> Ticket:
    """A ticket from a `tokens` value ("token|place|joined[|admitted]") or a `pre` one ("token|receipt|joined":
    a receipt, never a number, in the second field)."""
    parts = _decode(data).split("|")
    ends = _decode(ends) if ends is not None else ""
    prequeued = is_receipt(parts[1])
    return Ticket(
        token=uuid.UUID(parts[0]),
        user_id=user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(_decode(user_id)),
        sequence=None if prequeued else int(parts[1]),
        entered_at=_moment(parts[2]),
        admitted_at=_moment(parts[3]) if len(parts) > 3 else None,
        expires_at=_moment(ends) if ends else None,
        ahead=ahead,
        receipt=parts[1] if prequeued else _decode(receipt),
        prequeue_size=prequeue_size if prequeued else None,
    )


def _size(found: int | bytes | str) -> int | None:
    """FIND's pre-queue size: a count, or -1 for a ticket that is not in the pre-queue."""
    size = int(found)
    return size if size >= 0 else None


class _Script:
    """A Lua script run on the one Redis that holds its keys: EVALSHA, and on NOSCRIPT (a server or node that
    has not run it since it started) EVAL of the body, which runs it and caches it there.

    Not redis-py's register_script: its fallback is SCRIPT LOAD, which a RedisCluster client sends to every
    primary. With one node dead, each script's first run in a process then failed even for a concert on a
    live node, and the failure was charged to that live node's breaker (503s for a concert that was fine).
    """

    def __init__(self, client: Redis | RedisCluster, body: str) -> None:
        self.client = client
        self.body = body
        self.sha = hashlib.sha1(body.encode()).hexdigest()

    def __call__(self, *, keys: list[str], args: Iterable[Any] = ()) -> Any:
        try:
            return self.client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return self.client.eval(self.body, len(keys), *keys, *args)


class _Redraw(Exception):
    """The pre-queue, the places or the staging changed under a draw attempt: read and stage again."""


class _DrawnMeanwhile(Exception):
    """The draw was committed by someone else meanwhile: record that one."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _unavailable_on_error(
    method: Callable[Concatenate["RedisQueueBackend", _P], _R],
) -> Callable[Concatenate["RedisQueueBackend", _P], _R]:
    @functools.wraps(method)
    def wrapper(self: "RedisQueueBackend", /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            with self._breaker(kwargs).guard():
                return method(self, *args, **kwargs)
        except UNREACHABLE as exc:  # RedisSkipped (breaker open) included
            raise QueueUnavailable() from exc

    return wrapper


class RedisQueueBackend(QueueBackend):
    name = "redis"
    has_fast_path = True

    def __init__(self, *, url: str | None = None, prefix: str | None = None, cluster: bool | None = None) -> None:
        """Raises QueueUnavailable when a cluster's slot map cannot be read (no node answers)."""
        self.url: str = url or settings.QUEUE_REDIS_URL or settings.REDIS_URL
        if not self.url:
            raise ImproperlyConfigured("QUEUE_BACKEND='redis' needs QUEUE_REDIS_URL or REDIS_URL.")
        self.prefix: str = prefix or settings.QUEUE_REDIS_PREFIX
        self.breaker = breaker_for(self.url)
        self.client: Redis | RedisCluster  # one pool per URL (per node) per process, short timeouts
        if settings.QUEUE_REDIS_CLUSTER if cluster is None else cluster:
            try:
                self.client = cluster_client(self.url)
            except UNREACHABLE as exc:
                raise QueueUnavailable() from exc
        else:
            self.client = redis_client(self.url)
        self._join = _Script(self.client, JOIN)
        self._status = _Script(self.client, STATUS)
        self._admit = _Script(self.client, ADMIT)
        self._touch = _Script(self.client, TOUCH)
        self._end = _Script(self.client, END)
        self._fast_status = _Script(self.client, FAST_STATUS)
        self._draw_read = _Script(self.client, DRAW_READ)
        self._draw_stage = _Script(self.client, DRAW_STAGE)
        self._draw_commit = _Script(self.client, DRAW_COMMIT)
        self._close_sale = _Script(self.client, CLOSE_SALE)

    def key(self, concert_id: uuid.UUID, name: str) -> str:
        return f"{self.prefix}:{{{concert_id}}}:{name}"

    def _breaker(self, kwargs: dict[str, Any]) -> Breaker:
        """The breaker of the Redis that holds the concert named by `room=` or `concert_id=`: the server's,
        or on a cluster the node's that serves the concert's slot (read from the client's slot map, no
        round trip), so a dead node is skipped while the others keep serving their concerts."""
        if not isinstance(self.client, RedisCluster):
            return self.breaker
        room = kwargs.get("room")
        concert_id = room.pk if room is not None else kwargs.get("concert_id")
        if concert_id is None:
            return self.breaker
        try:
            node = self.client.get_node_from_key(self.key(concert_id, "seq"))  # type: ignore[no-untyped-call]
        except SlotNotCoveredError:  # the client is reading the slot map again
            return self.breaker
        return breaker_for(f"redis://{node.host}:{node.port}")

    def _keys(self, concert_id: uuid.UUID, *names: str) -> list[str]:
        return [self.key(concert_id, name) for name in names]

    @_unavailable_on_error
    def join(
        self,
        *,
        room: WaitingRoom,
        user_id: uuid.UUID,
        now: datetime.datetime,
        prequeue: bool = False,
        arrival_floor: int | None = None,
        sale: str | None = None,
    ) -> JoinResult:
        found = self._join(
            keys=self._keys(
                room.pk,
                "seq",
                "waiting",
                "admitted",
                "tokens",
                "unwritten",
                "pre",
                "preseq",
                "receipts",
                "draw",
                "sale",
            ),
            args=[
                str(user_id),
                str(uuid.uuid4()),
                _us(now),
                "pre" if prequeue else "open",
                "" if arrival_floor is None else arrival_floor,
                sale or "",
            ],
        )
        if len(found) == 1:
            if int(found[0]) == -2:
                raise ArrivalFloorNeeded()
            if int(found[0]) == -3:
                raise SaleChanged()
            raise DrawPending()
        created, data, ends, replaced, replaced_ends, rank, receipt = found
        return JoinResult(
            ticket=_ticket(user_id, data, ends, ahead=None if int(rank) < 0 else int(rank), receipt=receipt),
            created=bool(created),
            replaced=_ticket(user_id, replaced, replaced_ends) if _decode(replaced) else None,
        )

    @_unavailable_on_error
    def close_sale(self, *, room: WaitingRoom, now: datetime.datetime, next_sale: str) -> None:
        self._close_sale(
            keys=self._keys(
                room.pk,
                "seq",
                "waiting",
                "admitted",
                "tokens",
                "pre",
                "receipts",
                "draw",
                MIRROR,
                "sale",
                "stage:id",
                "stage:waiting",
                "stage:tokens",
                "stage:draw",
            ),
            args=[next_sale],
        )

    @_unavailable_on_error
    def status(self, *, room: WaitingRoom, user_id: uuid.UUID, now: datetime.datetime) -> Ticket | None:
        found = self._status(
            keys=self._keys(room.pk, "waiting", "admitted", "tokens", "pre", "receipts"), args=[str(user_id)]
        )
        if not found:
            return None
        data, ends, rank, receipt, size = found
        if _decode(ends):
            ticket = _ticket(user_id, data, ends, receipt=receipt)
            return ticket if ticket.expires_at is not None and ticket.expires_at > now else None
        return _ticket(
            user_id, data, ahead=None if int(rank) < 0 else int(rank), receipt=receipt, prequeue_size=_size(size)
        )

    @_unavailable_on_error
    def fast_status(self, *, concert_id: uuid.UUID, user_id: uuid.UUID) -> tuple[str, Ticket | None] | None:
        found = self._fast_status(
            keys=self._keys(concert_id, "waiting", "admitted", "tokens", "pre", "receipts", MIRROR), args=[str(user_id)]
        )
        if not found:
            return None
        if len(found) == 1:
            return _decode(found[0]), None
        room, data, ends, rank, receipt, size = found
        ahead = None if _decode(ends) or int(rank) < 0 else int(rank)
        return _decode(room), _ticket(
            user_id, data, ends or None, ahead=ahead, receipt=receipt, prequeue_size=_size(size)
        )

    @_unavailable_on_error
    def mirror_room(self, *, concert_id: uuid.UUID, state: str, seconds: float) -> None:
        self.client.set(self.key(concert_id, MIRROR), state, px=max(1, int(seconds * 1000)))

    @_unavailable_on_error
    def forget_room_mirror(self, *, concert_id: uuid.UUID) -> None:
        self.client.delete(self.key(concert_id, MIRROR))

    @_unavailable_on_error
    def draw(
        self,
        *,
        room: WaitingRoom,
        seed: str,
        now: datetime.datetime,
        place_floor: int = 0,
        record: Callable[[DrawnPlaces], None] | None = None,
    ) -> DrawResult:
        """Read the pre-queue, order it (queueing.draw), stage the places in chunks of DRAW_CHUNK while
        `record` writes them to the database, then commit them in one script: until the commit nobody sees a
        place, and after it everyone does. A process that dies before the commit leaves only staging keys,
        which the next attempt drops (and which expire)."""
        for _attempt in range(DRAW_ATTEMPTS):
            if self.client.hexists(self.key(room.pk, "draw"), "_"):
                return self._recorded_draw(room.pk, record)
            arrivals, last_place, lines = self._draw_read(keys=self._keys(room.pk, "pre", "preseq", "seq"))
            base = max(int(last_place), place_floor)
            by_receipt = {}
            for line in _decode(lines).split("\n") if lines else ():
                user, token, receipt, joined = line.split("|")
                by_receipt[receipt] = (user, token, joined)
            drawn = [(receipt, *by_receipt[receipt]) for receipt in draw_order(seed, by_receipt)]
            attempt = uuid.uuid4().hex
            try:
                with transaction.atomic():  # a savepoint: what `record` wrote goes if this attempt is given up
                    tickets = self._stage_alongside(room.pk, attempt, drawn, base, record)
                    if tickets is None:
                        raise _Redraw()
                    committed = int(
                        self._draw_commit(
                            keys=self._commit_keys(room.pk),
                            args=[attempt, len(drawn), _decode(arrivals), base, place_floor, _us(now)],
                        )
                    )
                    if committed == 0:
                        raise _DrawnMeanwhile()
                    if committed < 0:
                        raise _Redraw()
            except _Redraw:
                continue
            except _DrawnMeanwhile:
                return self._recorded_draw(room.pk, record)
            return DrawResult(tickets=tickets, drawn_at=now)
        logger.warning("queue %s: the pre-queue kept changing during the draw; trying again later", room.pk)
        raise QueueUnavailable()

    def _commit_keys(self, concert_id: uuid.UUID) -> list[str]:
        return self._keys(
            concert_id,
            "pre",
            "preseq",
            "seq",
            "waiting",
            "tokens",
            "draw",
            "stage:id",
            "stage:waiting",
            "stage:tokens",
            "stage:draw",
        )

    def _stage_alongside(
        self,
        concert_id: uuid.UUID,
        attempt: str,
        drawn: list[tuple[str, str, str, str]],
        base: int,
        record: Callable[[DrawnPlaces], None] | None,
    ) -> list[Ticket] | None:
        """Stage the places (receipt, user, token, joined µs, in place order) and build their tickets on a
        thread of their own while `record` (the database write, on this thread and in its transaction) runs:
        for a big draw the two take about as long. The tickets, or None if the staging was taken over."""
        outcome: list[list[Ticket] | None | BaseException] = []

        def stage() -> None:
            try:
                if not self._stage_draw(concert_id, attempt, drawn, base):
                    outcome.append(None)
                    return
                outcome.append(
                    [
                        Ticket(
                            token=uuid.UUID(token),
                            user_id=uuid.UUID(user),
                            sequence=place,
                            entered_at=_moment(joined),
                            receipt=receipt,
                        )
                        for place, (receipt, user, token, joined) in enumerate(drawn, start=base + 1)
                    ]
                )
            except BaseException as exc:  # handed to the caller's thread below
                outcome.append(exc)

        thread = threading.Thread(target=stage, name=f"draw-stage-{concert_id}")
        thread.start()
        try:
            if record is not None:
                arrival = sorted(range(len(drawn)), key=lambda i: arrival_key(drawn[i][0]))  # see QueueBackend.draw
                record([(drawn[i][2], base + 1 + i) for i in arrival])
        finally:
            thread.join()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _stage_draw(
        self, concert_id: uuid.UUID, attempt: str, drawn: list[tuple[str, str, str, str]], base: int
    ) -> bool:
        """Write the drawn places (receipt, user, token, joined µs, in place order) to the staging keys, a
        chunk a script; False if another attempt took the staging over meanwhile."""
        keys = self._keys(concert_id, "stage:id", "stage:waiting", "stage:tokens", "stage:draw")
        for start in range(0, max(len(drawn), 1), DRAW_CHUNK):
            chunk = drawn[start : start + DRAW_CHUNK]
            lines = "\n".join(f"{user}|{token}|{receipt}|{joined}" for receipt, user, token, joined in chunk)
            first = "1" if start == 0 else "0"
            if not self._draw_stage(keys=keys, args=[attempt, first, DRAW_STAGE_MS, base + start + 1, lines]):
                return False
        return True

    def _recorded_draw(self, concert_id: uuid.UUID, record: Callable[[DrawnPlaces], None] | None = None) -> DrawResult:
        """The draw that already ran (a database write failed after it): read back from its record, and
        recorded by `record`."""
        tickets, drawn_at = [], None
        for field, value in self.client.hgetall(self.key(concert_id, "draw")).items():
            user = _decode(field)
            if user == "_at":
                drawn_at = _moment(value)
            if user.startswith("_"):
                continue
            token, place, receipt, joined = _decode(value).split("|")
            tickets.append(_ticket(user, f"{token}|{place}|{joined}", receipt=receipt))
        assert drawn_at is not None  # the commit writes "_at" with "_"
        tickets.sort(key=lambda ticket: ticket.sequence or 0)
        if record is not None:
            in_arrival = sorted(tickets, key=lambda ticket: arrival_key(ticket.receipt))  # see QueueBackend.draw
            record([(ticket.token, ticket.sequence) for ticket in in_arrival if ticket.sequence is not None])
        return DrawResult(tickets=tickets, drawn_at=drawn_at)

    @_unavailable_on_error
    def prequeue_count(self, *, concert_id: uuid.UUID) -> int:
        return int(self.client.hlen(self.key(concert_id, "pre")))

    @_unavailable_on_error
    def admit(self, *, room: WaitingRoom, now: datetime.datetime, limit: int, active_seconds: int) -> AdmitResult:
        expired, admitted = self._admit(
            keys=self._keys(room.pk, "waiting", "admitted", "tokens", "unwritten", "receipts"),
            args=[_us(now), room.max_active, int(room.is_paused), max(0, limit), active_seconds * 1_000_000],
        )
        ends = now + datetime.timedelta(seconds=active_seconds)
        return AdmitResult(
            admitted=[_ticket(admitted[i], admitted[i + 1], str(_us(ends))) for i in range(0, len(admitted), 2)],
            expired=[_ticket(expired[i], expired[i + 1], expired[i + 2]) for i in range(0, len(expired), 3)],
        )

    @_unavailable_on_error
    def touch(
        self,
        *,
        concert_id: uuid.UUID,
        user_id: uuid.UUID,
        now: datetime.datetime | None,
        active_seconds: int,
        max_lifetime_seconds: int,
    ) -> bool:
        return bool(
            self._touch(
                keys=self._keys(concert_id, "admitted", "tokens"),
                args=[
                    str(user_id),
                    "" if now is None else _us(now),
                    active_seconds * 1_000_000,
                    max_lifetime_seconds * 1_000_000,
                ],
            )
        )

    @_unavailable_on_error
    def end(self, *, concert_id: uuid.UUID, user_id: uuid.UUID, now: datetime.datetime, reason: str) -> Ticket | None:
        found = self._end(
            keys=self._keys(concert_id, "waiting", "admitted", "tokens", "unwritten", "pre", "receipts"),
            args=[str(user_id), _us(now), reason],
        )
        if not found:
            return None
        data, ends = found
        return _ticket(user_id, data, ends)

    @_unavailable_on_error
    def unwritten_history(self, *, concert_id: uuid.UUID) -> list[HistoryNote]:
        notes = []
        for field, value in self.client.hgetall(self.key(concert_id, "unwritten")).items():
            field, value = _decode(field), _decode(value)
            if field.endswith(":a"):
                user_id, data = value.split("|", 1)
                notes.append(HistoryNote(ticket=_ticket(user_id, data)))
            else:
                user_id, exited, reason, data = value.split("|", 3)
                notes.append(HistoryNote(ticket=_ticket(user_id, data), exited_at=_moment(exited), exit_reason=reason))
        return notes

    @_unavailable_on_error
    def history_written(
        self, *, concert_id: uuid.UUID, admitted: Iterable[Ticket] = (), exited: Iterable[Ticket] = ()
    ) -> None:
        fields = [f"{t.token}:a" for t in admitted] + [f"{t.token}:x" for t in exited]
        if fields:
            self.client.hdel(self.key(concert_id, "unwritten"), *fields)

    @_unavailable_on_error
    def counts(self, *, concert_id: uuid.UUID, now: datetime.datetime) -> tuple[int, int]:
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(self.key(concert_id, "waiting"))
        pipe.zcount(self.key(concert_id, "admitted"), f"({_us(now)}", "+inf")
        waiting, admitted = pipe.execute()
        return int(waiting), int(admitted)

    @_unavailable_on_error
    def try_admission_lease(
        self, *, concert_id: uuid.UUID, overdue_since: datetime.datetime | None, seconds: float
    ) -> bool:
        # One lease per overdue state (the last run's time): once a run moves it on, a later overdue
        # state gets a fresh lease; if the lucky poll dies, the lease runs out after `seconds`.
        key = self.key(concert_id, f"lease:{_us(overdue_since) if overdue_since else 0}")
        return bool(self.client.set(key, "1", nx=True, px=max(1, int(seconds * 1000))))
