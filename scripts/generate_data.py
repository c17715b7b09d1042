#!/usr/bin/env python3
"""Deterministic demo-data generator for the milestone_activation dbt package.

It writes the two raw tables the package reads (contract "Raw inputs"; every column
VARCHAR, the messy way real sources deliver them):

    users : user_id, account_id, created_at, plan_tier, install_source,
            inviter_user_id, company_size
    events: event_id, user_id, event_name, event_timestamp, properties

into a DuckDB file (``--duckdb PATH``, tables ``<schema>.users`` / ``<schema>.events``
are replaced) and/or as ``users.csv`` / ``events.csv`` in ``--csv-dir``.

``--events-layout`` writes the same events rows in a tracker's layout instead
(segment, rudderstack, amplitude, mixpanel, snowplow, posthog; the package reads them
with var ``activation_events_layout``): the columns renamed as the tracker names them
(e.g. Amplitude ``uuid, user_id, event_type, event_time, event_properties``), and in the
Segment and RudderStack layouts the properties spread over one column per key, as
their warehouses store them (a properties text that is not a JSON object leaves those
columns null). The Snowplow layout keeps the properties in the JSON column
``unstruct_event_com_acme_product_event_1``.

What the data looks like
------------------------
* A product-led SaaS over ``--days`` days from ``--start``: signups grow over the
  period with weekday and hour-of-day seasonality; ``activation_as_of`` is
  ``start + days`` (``--print-vars``) and no regular event is later than that.
* Users: install_source (web_direct, google_ads, app_store, partner_referral,
  invite), company_size (1-10 ... 1000+), plan_tier (mostly free; upgrades are
  reflected), about 20% invited (``inviter_user_id`` = an earlier user who sent an
  ``invite_sent`` event before the signup; the invitee joins the inviter's account).
* A latent funnel drives the events of the demo milestones in
  ``seeds/activation_milestones.csv`` / ``activation_milestone_requirements.csv``:
  login -> onboarding_step (start/profile/finish) -> first value (5 searches + a list,
  or a template import) -> invite_sent (gated by first value) -> 10 comments ->
  paid_feature_used / plan_upgraded. Drop-off differs by install_source,
  company_size and invited vs direct signup; the ``onboarding_checklist_v2``
  experiment (``experiment_exposure`` events, control/treatment) has a real effect
  on finishing onboarding. Some milestones are reached after their timeframe.
  ``page_viewed`` / ``document_viewed`` (and extra logins) are noise that no
  milestone needs. Event volume per user is heavy-tailed.
* Messiness on purpose: event-name spellings ('Search Performed',
  'search_performed', 'SEARCH-PERFORMED', 'Login'), timestamps mostly
  'YYYY-MM-DD HH:MM:SS' and some ISO forms ('T', 'Z', '+02:00', '-05:00', '+0100',
  fractions), padded ids, events without event_id, events before signup.
* A small share of rows for every quarantine reason of the contract:
  events with missing user_id, missing/blank event name, invalid timestamp (garbage,
  impossible dates), future timestamp (far beyond as_of + 1 day), invalid properties
  JSON, unknown user; exact duplicates (same event_id, some re-formatted to the same
  instant) and duplicates without event_id (same content); users with missing
  user_id, duplicate user_id (exact copies or later re-signups) and invalid created_at.

Determinism and scale
---------------------
Same flags -> byte-identical CSV files on every run and machine: one numpy
``Generator`` per chunk seeded from ``[seed, chunk_index]``, no wall clock, no hash
or set ordering, fixed string formatting. Users are generated in chunks of
``--chunk-users`` (the chunk size is part of the output's identity) and every chunk
is written before the next one is made, so memory stays bounded for 100M+ events.
CSV: comma separated, '\\n' line ends, a null is an empty field and an empty string
is written as "" (read it with DuckDB ``read_csv(..., all_varchar=true,
allow_quoted_nulls=false)`` to keep that difference).

Examples
--------
    python scripts/generate_data.py --duckdb demo.duckdb
    python scripts/generate_data.py --users 2000000 --csv-dir /data/demo --quiet
    dbt build --vars "$(python scripts/generate_data.py --print-vars)"
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

USER_COLUMNS = [
    "user_id", "account_id", "created_at", "plan_tier", "install_source",
    "inviter_user_id", "company_size",
]
EVENT_COLUMNS = ["event_id", "user_id", "event_name", "event_timestamp", "properties"]

MIN = 60
HOUR = 3600
DAY = 86400

# ----------------------------------------------------------------- segments

SOURCES = ["web_direct", "google_ads", "app_store", "partner_referral", "invite"]
DIRECT_SOURCE_P = np.array([0.38, 0.30, 0.20, 0.12])  # direct signups never say 'invite'
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
SIZE_P = np.array([0.42, 0.27, 0.16, 0.09, 0.06])
PLANS = ["free", "pro", "team", "enterprise"]
# plan at signup by company size (free, pro, team, enterprise)
PLAN0_P = np.array([
    [0.95, 0.04, 0.01, 0.00],
    [0.91, 0.05, 0.04, 0.00],
    [0.86, 0.05, 0.07, 0.02],
    [0.80, 0.04, 0.10, 0.06],
    [0.70, 0.02, 0.10, 0.18],
])
# plan chosen on upgrade by company size (pro, team, enterprise)
UPGRADE_P = np.array([
    [0.85, 0.14, 0.01],
    [0.65, 0.32, 0.03],
    [0.45, 0.45, 0.10],
    [0.30, 0.50, 0.20],
    [0.15, 0.45, 0.40],
])
P_INVITED = 0.22  # a few early invitees find no earlier inviter and become direct

# logit effects (index = source / size code)
LOGIN_SRC = np.array([0.0, -0.45, 0.35, 0.25, 0.60])
ONBOARD_SRC = np.array([0.0, -0.35, -0.55, 0.30, 0.40])
VALUE_SRC = np.array([0.0, -0.60, -0.30, 0.35, 0.45])
VALUE_SIZE = np.array([-0.20, 0.05, 0.20, 0.25, 0.10])
TEAM_SIZE = np.array([-1.00, 0.00, 0.45, 0.70, 0.80])
PAID_SIZE = np.array([-0.60, 0.00, 0.40, 0.70, 1.00])
TREATMENT_EFFECT = 0.60  # onboarding_checklist_v2 treatment, on finishing onboarding

WEEKDAY = np.array([1.15, 1.20, 1.15, 1.10, 0.95, 0.55, 0.60])  # Monday first
HOUR_OF_DAY = np.array([
    0.25, 0.18, 0.15, 0.15, 0.18, 0.25, 0.40, 0.65, 0.95, 1.20, 1.30, 1.30,
    1.20, 1.25, 1.30, 1.25, 1.15, 1.00, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35,
])

# ----------------------------------------------------------------- events

LOGIN, ONBOARDING, SEARCH, LIST, TEMPLATE, INVITE, COMMENT, PAID, UPGRADE, EXPOSURE, PAGE, DOC = range(12)
EVENT_NAMES = [
    "login", "onboarding_step", "search_performed", "list_created", "template_imported",
    "invite_sent", "comment_added", "paid_feature_used", "plan_upgraded",
    "experiment_exposure", "page_viewed", "document_viewed",
]
# raw spellings per event (messy on purpose; all normalise to EVENT_NAMES)
NAME_VARIANTS = {
    LOGIN: (["login", "Login"], [0.85, 0.15]),
    SEARCH: (["Search Performed", "search_performed", "SEARCH-PERFORMED", " search performed "],
             [0.55, 0.30, 0.10, 0.05]),
    PAGE: (["page_viewed", "Page Viewed"], [0.92, 0.08]),
}


def _compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


PROPS: list = [None]
_PROP_INDEX: dict = {}


def prop(obj) -> int:
    """Index of the compact JSON text of obj in PROPS (None -> 0)."""
    if obj is None:
        return 0
    text = _compact(obj)
    if text not in _PROP_INDEX:
        _PROP_INDEX[text] = len(PROPS)
        PROPS.append(text)
    return _PROP_INDEX[text]


STEP_PROPS = {s: prop({"step": s}) for s in ("start", "profile", "finish")}
VARIANT_PROPS = [prop({"experiment": "onboarding_checklist_v2", "variant": v}) for v in ("control", "treatment")]
INVITE_PROPS = [prop({"method": "email", "count": c}) for c in (1, 2, 3, 5)]
INVITE_PROPS_P = [0.88, 0.06, 0.04, 0.02]
PLAN_PROPS = [prop({"plan": p}) for p in PLANS[1:]]
LOGIN_PROPS = [prop({"platform": p}) for p in ("web", "ios", "android")]
# properties of events whose payload is not designed by the funnel: (choices, probabilities)
FREE_PROPS = {
    LOGIN: ([LOGIN_PROPS[0], 0], [0.9, 0.1]),  # replaced by platform below for app_store users
    SEARCH: ([prop({"results": r}) for r in (0, 1, 3, 5, 8, 12, 20, 50)] + [0],
             [0.06, 0.08, 0.14, 0.16, 0.16, 0.14, 0.12, 0.06, 0.08]),
    LIST: ([0] + [prop({"list_type": t}) for t in ("tasks", "contacts", "ideas")], [0.4, 0.3, 0.2, 0.1]),
    TEMPLATE: ([prop({"template": t}) for t in ("okr_tracker", "sprint_board", "crm_pipeline", "content_calendar")],
               [0.3, 0.3, 0.2, 0.2]),
    COMMENT: ([0, prop({"document_type": "doc"}), prop({"document_type": "board"})], [0.5, 0.3, 0.2]),
    PAID: ([prop({"feature": f}) for f in ("advanced_export", "sso", "audit_log", "automations")],
           [0.35, 0.15, 0.15, 0.35]),
    PAGE: ([prop({"path": p}) for p in ("/home", "/dashboard", "/lists", "/templates", "/settings", "/billing",
                                        "/help", "/pricing")] + [0],
           [0.22, 0.22, 0.14, 0.10, 0.08, 0.05, 0.06, 0.05, 0.08]),
    DOC: ([0] + [prop({"document_id": f"doc_{i}"}) for i in range(1, 13)], [0.2] + [0.8 / 12] * 12),
}

# timestamp layouts: (probability for events, probability for users)
TS_PLAIN, TS_Z, TS_P0200, TS_M0500, TS_P0530, TS_P0100, TS_FRAC, TS_T = range(8)
TS_EVENT_P = [0.880, 0.040, 0.030, 0.015, 0.005, 0.005, 0.020, 0.005]
TS_USER_P = [0.920, 0.040, 0.020, 0.020, 0.000, 0.000, 0.000, 0.000]
TS_OFFSETS = {TS_P0200: (2 * HOUR, "+02:00"), TS_M0500: (-5 * HOUR, "-05:00"),
              TS_P0530: (5 * HOUR + 30 * MIN, "+05:30"), TS_P0100: (HOUR, "+0100")}

# ----------------------------------------------------------------- bad rows

BAD_EVENT_NAMES = [None, "", "   ", "--", "_"]
BAD_USER_IDS = [None, "", "  "]
BAD_JSON = ['{"step":"finish"', "{'plan': 'pro'}", "step=finish", "", '{"count":1,}',
            "undefined", "[1,2", '{"method":"email" "count":1}']
EVENT_RATES = {  # share of a chunk's regular events
    "missing_user_id": 0.0015, "missing_event_name": 0.0010, "invalid_timestamp": 0.0012,
    "future_timestamp": 0.0006, "invalid_properties_json": 0.0010, "unknown_user": 0.0020,
    "multi_fault": 0.0002, "duplicate_event_id": 0.0040, "duplicate_event_id_reformatted": 0.0010,
    "duplicate_no_event_id": 0.0020, "padded_user_id": 0.0020,
}
USER_RATES = {  # share of a chunk's users
    "missing_user_id": 0.003, "duplicate_exact": 0.003, "duplicate_later": 0.004, "invalid_created_at": 0.003,
}

# events per user calibration: regular events come out at about users * events_per_user
VOLUME_CALIBRATION = 0.65
LIFE_FULL_DAYS = 45.0


@dataclass(frozen=True)
class Config:
    users: int
    events_per_user: float
    days: int
    start: dt.date
    seed: int
    chunk_users: int

    @property
    def start_s(self) -> int:
        return int((dt.datetime.combine(self.start, dt.time()) - dt.datetime(1970, 1, 1)).total_seconds())

    @property
    def as_of_s(self) -> int:
        return self.start_s + self.days * DAY

    @property
    def n_chunks(self) -> int:
        return max(1, math.ceil(self.users / self.chunk_users))


def as_of_text(cfg: Config) -> str:
    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=cfg.as_of_s)).strftime("%Y-%m-%d %H:%M:%S")


def dbt_vars(cfg: Config) -> dict:
    return {
        "activation_as_of": as_of_text(cfg),
        "activation_first_value_milestone": "first_value",
        "activation_user_passthrough_columns": ["company_size"],
    }


# ----------------------------------------------------------------- helpers


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def pick(rng, probs, n):
    """n category codes with the given probabilities (inverse CDF, deterministic)."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def pick_rows(rng, probs_matrix):
    """One category per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs_matrix, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(len(probs_matrix))[:, None]
    return np.minimum((u >= cum).sum(axis=1), probs_matrix.shape[1] - 1)


def mixture(rng, n, components):
    """Delays in seconds from a mixture [(weight, sampler(rng, n) -> seconds), ...]."""
    which = pick(rng, [w for w, _ in components], n)
    out = np.zeros(n)
    for k, (_, sampler) in enumerate(components):
        values = sampler(rng, n)
        out = np.where(which == k, values, out)
    return out


def lognormal(median, sigma):
    return lambda rng, n: median * np.exp(sigma * rng.standard_normal(n))


def uniform(lo, hi):
    return lambda rng, n: rng.uniform(lo, hi, n)


def gamma(shape, scale):
    return lambda rng, n: rng.gamma(shape, scale, n)


def iso_seconds(t: np.ndarray) -> np.ndarray:
    """int64 epoch seconds -> 'YYYY-MM-DDTHH:MM:SS' (numpy unicode array)."""
    return np.datetime_as_string(np.asarray(t, dtype=np.int64).astype("datetime64[s]"), unit="s")


def format_timestamps(t: np.ndarray, layout: np.ndarray, rng) -> np.ndarray:
    """Format UTC epoch seconds in the given layouts (object array of str)."""
    out = np.empty(len(t), dtype=object)
    for code in range(8):
        mask = layout == code
        if not mask.any():
            continue
        tt = t[mask]
        if code in TS_OFFSETS:
            shift, suffix = TS_OFFSETS[code]
            text = np.char.add(iso_seconds(tt + shift), suffix)
        elif code == TS_Z:
            text = np.char.add(iso_seconds(tt), "Z")
        elif code == TS_T:
            text = iso_seconds(tt)
        else:
            raw = iso_seconds(tt).astype("S19")
            raw.view(np.uint8).reshape(-1, 19)[:, 10] = ord(" ")
            text = raw.astype("U19")
            if code == TS_FRAC:
                ms = rng.integers(0, 1000, len(tt))
                text = np.char.add(np.char.add(text, "."), np.char.zfill(ms.astype("U3"), 3))
        out[mask] = text.astype(object)
    return out


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def event_ids(chunk: int, seq: np.ndarray) -> np.ndarray:
    """Unique, random-looking ids: splitmix64 (a bijection) of (chunk, sequence)."""
    x = (np.uint64(chunk) << np.uint64(36)) | seq.astype(np.uint64)
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    nibbles = ((x[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    body = np.ascontiguousarray(_HEX[nibbles])
    prefix = np.broadcast_to(np.frombuffer(b"evt_", dtype=np.uint8), (len(x), 4))
    raw = np.ascontiguousarray(np.concatenate([prefix, body], axis=1)).view("S20").ravel()
    return raw.astype("U20").astype(object)


def user_id_text(global_index: np.ndarray) -> np.ndarray:
    return np.array([f"u_{i:08d}" for i in global_index.tolist()], dtype=object)


def account_id_text(account: np.ndarray) -> np.ndarray:
    return np.array([f"acc_{i:07d}" for i in account.tolist()], dtype=object)


# ----------------------------------------------------------------- signups


class SignupModel:
    """Signup intensity per hour (growth, weekday, hour of day, daily noise).

    User i of N signs up at the (i + U_i) / N quantile of the intensity, so signup
    times increase with the user index across chunks without generating all users.
    """

    def __init__(self, cfg: Config):
        rng = np.random.default_rng([cfg.seed, 0xFFFFFFFF, 1])  # distinct from every [seed, chunk]
        hours = cfg.days * 24
        h = np.arange(hours)
        day = h // 24
        weekday = (cfg.start.weekday() + day) % 7
        growth = 1.0 + 0.6 * day / max(cfg.days - 1, 1)
        noise = rng.lognormal(0.0, 0.12, cfg.days)
        intensity = growth * WEEKDAY[weekday] * HOUR_OF_DAY[h % 24] * noise[day]
        cdf = np.concatenate([[0.0], np.cumsum(intensity)])
        self.cdf = cdf / cdf[-1]
        self.edges = cfg.start_s + np.arange(hours + 1, dtype=np.int64) * HOUR
        mid_life_days = (cfg.as_of_s - (self.edges[:-1] + HOUR / 2)) / DAY
        self.mean_life_factor = float(np.sum(np.diff(self.cdf) * life_factor(mid_life_days)))

    def created(self, global_index: np.ndarray, total: int, rng) -> np.ndarray:
        u = (global_index + rng.random(len(global_index))) / total
        return np.floor(np.interp(u, self.cdf, self.edges)).astype(np.int64)


def life_factor(days_left):
    return np.minimum(1.0, np.maximum(days_left, 0.0) / LIFE_FULL_DAYS) ** 0.7


# ----------------------------------------------------------------- invite pool


class InvitePool:
    """invite_sent events of earlier users, to pick inviters for invited signups."""

    WINDOW = 30 * DAY

    def __init__(self):
        self.t = np.zeros(0, dtype=np.int64)
        self.user = np.zeros(0, dtype=np.int64)
        self.account = np.zeros(0, dtype=np.int64)
        self.size = np.zeros(0, dtype=np.int64)

    def add(self, t, user, account, size):
        t = np.concatenate([self.t, t])
        user = np.concatenate([self.user, user])
        account = np.concatenate([self.account, account])
        size = np.concatenate([self.size, size])
        order = np.lexsort((user, t))
        self.t, self.user, self.account, self.size = t[order], user[order], account[order], size[order]

    def trim(self, keep_from):
        keep = self.t >= keep_from
        self.t, self.user, self.account, self.size = self.t[keep], self.user[keep], self.account[keep], self.size[keep]

    def choose(self, created, size, rng):
        """Index into the pool per invitee (-1: none): an invite sent within 30 days
        before the signup, preferably from a user of the same company size."""
        n = len(created)
        u = rng.random(n)
        chosen = np.full(n, -1, dtype=np.int64)
        for s in range(len(SIZES)):
            rows = np.nonzero(size == s)[0]
            pool_rows = np.nonzero(self.size == s)[0]
            if len(rows) == 0 or len(pool_rows) == 0:
                continue
            pt = self.t[pool_rows]
            lo = np.searchsorted(pt, created[rows] - self.WINDOW, side="left")
            hi = np.searchsorted(pt, created[rows] - 10 * MIN, side="left")
            ok = hi > lo
            k = lo + np.floor(u[rows] * (hi - lo)).astype(np.int64)
            chosen[rows[ok]] = pool_rows[k[ok]]
        rest = np.nonzero(chosen < 0)[0]
        if len(rest) and len(self.t):
            lo = np.searchsorted(self.t, created[rest] - self.WINDOW, side="left")
            hi = np.searchsorted(self.t, created[rest] - 10 * MIN, side="left")
            ok = hi > lo
            k = lo + np.floor(u[rest] * (hi - lo)).astype(np.int64)
            chosen[rest[ok]] = k[ok]
        return chosen


# ----------------------------------------------------------------- one chunk


class EventBlocks:
    """Collects regular events as parallel arrays (user, time, event code, property)."""

    def __init__(self, as_of_s: int):
        self.as_of = as_of_s
        self.parts = []

    def emit(self, users, times, code, props=None):
        users = np.asarray(users, dtype=np.int64)
        times = np.floor(np.asarray(times, dtype=float)).astype(np.int64)
        if props is None:
            props = np.full(len(users), -1, dtype=np.int64)  # -1: choose from FREE_PROPS later
        props = np.broadcast_to(np.asarray(props, dtype=np.int64), users.shape)
        codes = np.broadcast_to(np.asarray(code, dtype=np.int64), users.shape)
        keep = times < self.as_of
        self.parts.append((users[keep], times[keep], codes[keep], props[keep]))

    def arrays(self):
        if not self.parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(4))


def generate_chunk(cfg: Config, signups: SignupModel, pool: InvitePool, chunk: int):
    """Users and events of one chunk as two DataFrames of str/None columns."""
    rng = np.random.default_rng([cfg.seed, chunk])
    as_of = cfg.as_of_s
    first = chunk * cfg.chunk_users
    n = min(cfg.users, first + cfg.chunk_users) - first
    gidx = np.arange(first, first + n, dtype=np.int64)
    ids = np.arange(n)

    # --- users
    created = np.minimum(signups.created(gidx, cfg.users, rng), as_of - 10 * MIN)
    invited = rng.random(n) < P_INVITED
    direct_src = pick(rng, DIRECT_SOURCE_P, n)
    src = np.where(invited & (rng.random(n) < 0.85), 4, direct_src)
    size = pick(rng, SIZE_P, n)
    plan0 = pick_rows(rng, PLAN0_P[size])
    paid0 = plan0 > 0
    z = rng.standard_normal(n)  # latent engagement
    inv = invited.astype(float)

    ev = EventBlocks(as_of)

    # --- first login (48h timeframe; some come back late)
    logged = rng.random(n) < sigmoid(2.0 + LOGIN_SRC[src] + 0.5 * inv + 0.6 * z)
    t_login = created + mixture(rng, n, [
        (0.80, lognormal(12 * MIN, 1.0)), (0.14, uniform(2 * HOUR, 40 * HOUR)), (0.06, uniform(49 * HOUR, 12 * DAY)),
    ])
    login_prop = np.where(src == 2, np.where(rng.random(n) < 0.6, LOGIN_PROPS[1], LOGIN_PROPS[2]), -1)
    ev.emit(ids[logged], t_login[logged], LOGIN, login_prop[logged])

    # --- onboarding experiment exposure, shown at first login
    exposed = logged & (rng.random(n) < 0.92)
    treatment = exposed & (rng.random(n) < 0.5)
    t_expo = t_login + rng.integers(1, 30, n)
    ev.emit(ids[exposed], t_expo[exposed], EXPOSURE, np.where(treatment, VARIANT_PROPS[1], VARIANT_PROPS[0])[exposed])

    # --- onboarding: start -> profile -> finish (7d timeframe)
    started = logged & (rng.random(n) < sigmoid(2.4 + 0.3 * z + 0.5 * ONBOARD_SRC[src]))
    t_start = t_expo + rng.uniform(20, 10 * MIN, n)
    profiled = started & (rng.random(n) < sigmoid(1.9 + 0.4 * z + ONBOARD_SRC[src] + 0.3 * inv))
    t_profile = t_start + lognormal(3 * MIN, 0.8)(rng, n)
    finish_logit = 0.9 + TREATMENT_EFFECT * treatment + ONBOARD_SRC[src] + VALUE_SIZE[size] + 0.5 * inv + 0.6 * z
    finished = profiled & (rng.random(n) < sigmoid(finish_logit))
    finish_delay_control = mixture(rng, n, [
        (0.72, lognormal(8 * MIN, 1.0)), (0.18, uniform(1 * DAY, 6 * DAY)), (0.10, uniform(7 * DAY, 21 * DAY)),
    ])
    finish_delay_treatment = mixture(rng, n, [
        (0.82, lognormal(6 * MIN, 1.0)), (0.13, uniform(1 * DAY, 6 * DAY)), (0.05, uniform(7 * DAY, 21 * DAY)),
    ])
    t_finish = t_profile + np.where(treatment, finish_delay_treatment, finish_delay_control)
    ev.emit(ids[started], t_start[started], ONBOARDING, STEP_PROPS["start"])
    ev.emit(ids[profiled], t_profile[profiled], ONBOARDING, STEP_PROPS["profile"])
    ev.emit(ids[finished], t_finish[finished], ONBOARDING, STEP_PROPS["finish"])

    # --- first value (14d): 5+ searches and a list, or a template import
    fv_logit = -1.0 + 1.4 * finished + VALUE_SRC[src] + VALUE_SIZE[size] + 0.6 * inv + 0.9 * z
    fv = logged & (rng.random(n) < sigmoid(fv_logit))
    t_fv = created + mixture(rng, n, [
        (0.55, lognormal(1.5 * DAY, 0.9)), (0.30, uniform(3 * DAY, 12 * DAY)), (0.15, uniform(15 * DAY, 50 * DAY)),
    ])
    t_fv = np.maximum(t_fv, t_login + 2 * MIN)
    path = pick(rng, [0.55, 0.25, 0.20], n)  # 0: searches + list, 1: template, 2: both
    p1 = fv & (path != 1)
    p2 = fv & (path != 0)
    window = np.minimum(t_fv - t_login, 3 * DAY) * rng.uniform(0.2, 1.0, n)
    list_first = rng.random(n) < 0.4
    search_t = t_fv[:, None] - window[:, None] * rng.random((n, 5))
    search_t[:, 0] = np.where(list_first, t_fv, search_t[:, 0])
    list_t = np.where(list_first, t_fv - window * rng.random(n), t_fv)
    u1 = ids[p1]
    ev.emit(np.repeat(u1, 5), search_t[p1].ravel(), SEARCH)
    ev.emit(u1, list_t[p1], LIST)
    template_t = np.where(path == 2, t_fv + rng.uniform(0, 5 * DAY, n), t_fv)
    ev.emit(ids[p2], template_t[p2], TEMPLATE)
    # near misses: some searches and maybe a list, but not the full requirement
    near = logged & ~fv
    r = rng.random(n)
    few = near & (r < 0.45)
    many_no_list = near & (r >= 0.45) & (r < 0.55)
    n_search = np.where(few, rng.integers(1, 5, n), 0) + np.where(many_no_list, rng.integers(5, 9, n), 0)
    span = np.minimum(20 * DAY, np.maximum(as_of - t_login, 1))
    su = np.repeat(ids, n_search)
    ev.emit(su, t_login[su] + span[su] * rng.random(len(su)), SEARCH)
    near_list = few & (rng.random(n) < 0.4)
    ev.emit(ids[near_list], (t_login + span * rng.random(n))[near_list], LIST)

    # --- invites (teammate_invited: 14d, gated by first value)
    team_logit = -0.1 + TEAM_SIZE[size] + 0.6 * paid0 + 0.4 * inv + 0.5 * z
    inviter = fv & (rng.random(n) < sigmoid(team_logit))
    t_invite = t_fv + mixture(rng, n, [(0.8, lambda g, k: g.exponential(1.5 * DAY, k)), (0.2, uniform(8 * DAY, 30 * DAY))])
    early = rng.random(n) < 0.10  # invited a teammate before first value: reached when first value is
    t_invite = np.where(early, t_fv - (t_fv - t_login) * rng.random(n), t_invite)
    blocked = logged & ~fv & (rng.random(n) < 0.04)  # invites but never reaches the gate
    t_invite = np.where(blocked, t_login + rng.uniform(10 * MIN, 10 * DAY, n), t_invite)
    invites_any = inviter | blocked
    extra_invites = np.where(invites_any, rng.poisson(np.where(blocked, 0.5, 1.3)), 0)
    iu = np.concatenate([ids[invites_any], np.repeat(ids, extra_invites)])
    it = np.concatenate([t_invite[invites_any], t_invite[np.repeat(ids, extra_invites)]
                         + rng.uniform(MIN, 20 * DAY, int(extra_invites.sum()))])
    it = np.floor(it).astype(np.int64)
    ev.emit(iu, it, INVITE, np.asarray(INVITE_PROPS)[pick(rng, INVITE_PROPS_P, len(iu))])
    sent = it < as_of

    # --- team collaboration (30d): 10+ comments
    collab_logit = -3.3 + 1.9 * invites_any + 0.9 * fv + TEAM_SIZE[size] + 0.6 * z
    collab = logged & (rng.random(n) < sigmoid(collab_logit))
    t_collab = created + mixture(rng, n, [(0.85, gamma(2.0, 3.5 * DAY)), (0.15, uniform(31 * DAY, 70 * DAY))])
    t_collab = np.maximum(t_collab, t_login + HOUR)
    cwin = np.minimum(t_collab - t_login, 14 * DAY)
    comment_t = t_collab[:, None] - cwin[:, None] * rng.random((n, 10))
    comment_t[:, 0] = t_collab
    ev.emit(np.repeat(ids[collab], 10), comment_t[collab].ravel(), COMMENT)
    some_comments = logged & ~collab & (rng.random(n) < 0.3)
    n_comments = np.where(some_comments, rng.integers(1, 10, n), 0)
    cu = np.repeat(ids, n_comments)
    cspan = np.minimum(30 * DAY, np.maximum(as_of - t_login, 1))
    ev.emit(cu, t_login[cu] + cspan[cu] * rng.random(len(cu)), COMMENT)

    # --- paid feature (30 days) and upgrades
    paid_logit = -3.9 + 1.3 * fv + 0.8 * collab + 1.6 * paid0 + PAID_SIZE[size] + 0.5 * z
    paid = logged & (rng.random(n) < sigmoid(paid_logit))
    t_paid = created + mixture(rng, n, [(0.8, gamma(1.6, 5 * DAY)), (0.2, uniform(31 * DAY, 80 * DAY))])
    t_paid = np.maximum(t_paid, t_login + 10 * MIN)
    ev.emit(ids[paid], t_paid[paid], PAID)
    upgrade = ~paid0 & ((paid & (rng.random(n) < 0.65)) | (fv & ~paid & (rng.random(n) < 0.03)))
    t_upgrade = np.where(paid, t_paid - rng.uniform(5 * MIN, 2 * DAY, n), t_fv + rng.uniform(DAY, 30 * DAY, n))
    t_upgrade = np.maximum(t_upgrade, t_login + MIN)
    upgrade_plan = 1 + pick_rows(rng, UPGRADE_P[size])
    ev.emit(ids[upgrade], t_upgrade[upgrade], UPGRADE, np.asarray(PLAN_PROPS)[upgrade_plan[upgrade] - 1])
    plan = np.where(upgrade & (t_upgrade < as_of), upgrade_plan, plan0)

    # --- before signup (anonymous tracking; never counts toward a milestone)
    pre = rng.random(n) < 0.03
    ev.emit(ids[pre], created[pre] - rng.uniform(MIN, HOUR, n)[pre], PAGE)
    pre_search = rng.random(n) < 0.01
    ev.emit(ids[pre_search], created[pre_search] - rng.uniform(MIN, HOUR, n)[pre_search], SEARCH)
    # users who never log in: a few page views right after signup
    bounced = np.repeat(ids[~logged], rng.poisson(1.2, n)[~logged])
    ev.emit(bounced, created[bounced] + rng.uniform(5, 30 * MIN, len(bounced)), PAGE)

    # --- filler: repeat activity, heavy-tailed per user, only after the matching milestone
    designed_u, designed_t, _, _ = ev.arrays()
    designed = np.bincount(designed_u, minlength=n)
    last_designed = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last_designed, designed_u, designed_t)
    weight = np.exp(1.1 * rng.standard_normal(n) - 1.1 ** 2 / 2)
    engage = np.where(logged, np.exp(0.45 * z) * (1 + 0.6 * fv + 0.5 * collab + 0.4 * paid), 0.08)
    life = life_factor((as_of - created) / DAY) / signups.mean_life_factor
    budget = cfg.events_per_user * VOLUME_CALIBRATION * weight * engage * life
    extra = np.maximum(budget - designed, 0)
    n_fill = np.floor(extra + rng.random(n)).astype(np.int64)
    fill_types = np.array([PAGE, DOC, LOGIN, SEARCH, LIST, TEMPLATE, COMMENT, PAID])
    type_w = np.tile(np.array([0.34, 0.22, 0.14, 0.12, 0.03, 0.01, 0.10, 0.04]), (n, 1))
    for col, allowed in ((1, logged), (2, logged), (3, fv), (4, fv), (5, fv), (6, collab), (7, paid)):
        type_w[:, col] *= allowed
    starts = np.stack([np.where(logged, t_login, created), t_login, t_login, t_fv, t_fv, t_fv, t_collab, t_paid], axis=1)
    span_days = 3 + rng.exponential(20 * np.exp(0.4 * z) * (1 + fv + 0.5 * collab))
    end = np.minimum(as_of - 1, np.maximum(created + span_days * DAY, last_designed + DAY)).astype(np.int64)
    fu = np.repeat(ids, n_fill)
    ftype = pick_rows(rng, type_w[fu]) if len(fu) else np.zeros(0, dtype=np.int64)
    fstart = starts[fu, ftype]
    fend = end[fu]
    ok = fstart < fend
    ft = fstart + (fend - fstart) * rng.random(len(fu)) ** 1.5
    ev.emit(fu[ok], ft[ok], fill_types[ftype[ok]])

    # --- invitees: pick an earlier user's invite_sent (same company size preferred)
    account = gidx.copy()
    pool.add(it[sent], gidx[iu[sent]], account[iu[sent]], size[iu[sent]])
    chosen = pool.choose(created, size, rng)
    has_inviter = invited & (chosen >= 0)
    inviter_gidx = np.full(n, -1, dtype=np.int64)
    inviter_gidx[has_inviter] = pool.user[chosen[has_inviter]]
    account[has_inviter] = pool.account[chosen[has_inviter]]
    src = np.where(invited & ~has_inviter & (src == 4), 0, src)  # no inviter found: a direct signup
    pool.trim(int(created.max()) - InvitePool.WINDOW)

    # ------------------------------------------------------------- users table
    user_ids = user_id_text(gidx)
    inviter_text = np.full(n, None, dtype=object)
    if has_inviter.any():
        inviter_text[has_inviter] = user_id_text(inviter_gidx[has_inviter])
    users = {
        "user_id": user_ids,
        "account_id": account_id_text(account),
        "created_at": format_timestamps(created, pick(rng, TS_USER_P, n), rng),
        "plan_tier": np.asarray(PLANS, dtype=object)[plan],
        "install_source": np.asarray(SOURCES, dtype=object)[src],
        "inviter_user_id": inviter_text,
        "company_size": np.asarray(SIZES, dtype=object)[size],
    }
    users_sort_t = created.copy()
    users, users_sort_t, bad_user_ids = inject_user_rows(users, users_sort_t, created, chunk, rng)
    order = np.lexsort((np.arange(len(users_sort_t)), users_sort_t))
    users_df = pd.DataFrame({c: users[c][order] for c in USER_COLUMNS}, dtype=object)

    # ------------------------------------------------------------- events table
    eu, et, ecode, eprop = ev.arrays()
    order = np.lexsort((eprop, ecode, et, eu))
    eu, et, ecode, eprop = eu[order], et[order], ecode[order], eprop[order]
    m = len(eu)
    for code, (choices, probs) in FREE_PROPS.items():
        free = (ecode == code) & (eprop < 0)
        if free.any():
            eprop[free] = np.asarray(choices)[pick(rng, probs, int(free.sum()))]
    names = np.asarray(EVENT_NAMES, dtype=object)[ecode]
    for code, (variants, probs) in NAME_VARIANTS.items():
        rows = ecode == code
        if rows.any():
            names[rows] = np.asarray(variants, dtype=object)[pick(rng, probs, int(rows.sum()))]
    eids = event_ids(chunk, np.arange(m))
    no_id = rng.random(m) < np.where(src[eu] == 2, 0.30, 0.02)  # a mobile SDK that sends no id
    eids[no_id] = None
    layout = pick(rng, TS_EVENT_P, m)
    events = {
        "event_id": eids,
        "user_id": user_ids[eu],
        "event_name": names,
        "event_timestamp": format_timestamps(et, layout, rng),
        "properties": np.asarray(PROPS, dtype=object)[eprop],
    }
    events, sort_u, sort_t = inject_event_rows(cfg, events, eu, et, layout, bad_user_ids, chunk, rng)
    order = np.lexsort((np.arange(len(sort_t)), sort_t, sort_u))
    events_df = pd.DataFrame({c: events[c][order] for c in EVENT_COLUMNS}, dtype=object)
    return users_df, events_df


# ----------------------------------------------------------------- bad rows


def _count(rate, base):
    return max(1, int(round(rate * base))) if base else 0


def inject_user_rows(users, sort_t, created, chunk, rng):
    """Append quarantine rows to a chunk's users: missing id, duplicates, bad created_at."""
    n = len(sort_t)
    add = {c: [] for c in USER_COLUMNS}
    add_t = []

    def copy_rows(rows):
        return {c: users[c][rows].copy() for c in USER_COLUMNS}

    # missing user_id
    rows = rng.integers(0, n, _count(USER_RATES["missing_user_id"], n))
    part = copy_rows(rows)
    part["user_id"] = np.asarray(BAD_USER_IDS, dtype=object)[rng.integers(0, len(BAD_USER_IDS), len(rows))]
    part["inviter_user_id"] = np.full(len(rows), None, dtype=object)
    add_t.append(sort_t[rows] + 1)
    for c in USER_COLUMNS:
        add[c].append(part[c])
    # exact duplicates (a second export of the same row), some with padded ids
    rows = rng.integers(0, n, _count(USER_RATES["duplicate_exact"], n))
    part = copy_rows(rows)
    pad = rng.random(len(rows)) < 0.3
    part["user_id"][pad] = np.array([f" {v} " for v in part["user_id"][pad]], dtype=object)
    add_t.append(sort_t[rows])
    for c in USER_COLUMNS:
        add[c].append(part[c])
    # later re-signups with the same id (the original, earlier row is the one kept)
    rows = rng.integers(0, n, _count(USER_RATES["duplicate_later"], n))
    part = copy_rows(rows)
    later = created[rows] + rng.integers(HOUR, 3 * DAY, len(rows))
    part["created_at"] = format_timestamps(later, pick(rng, TS_USER_P, len(rows)), rng)
    part["plan_tier"] = np.where(rng.random(len(rows)) < 0.5, "free", part["plan_tier"]).astype(object)
    add_t.append(later)
    for c in USER_COLUMNS:
        add[c].append(part[c])
    # invalid created_at (their events become unknown_user)
    k = _count(USER_RATES["invalid_created_at"], n)
    rows = rng.integers(0, n, k)
    part = copy_rows(rows)
    bad_ids = np.array([f"u_x{chunk:04d}{j:05d}" for j in range(k)], dtype=object)
    part["user_id"] = bad_ids
    part["inviter_user_id"] = np.full(k, None, dtype=object)
    year = 1970 + int(created[0]) // (365 * DAY + 6 * HOUR)
    bad_created = [None, "", "yesterday", f"{year}-02-30 09:00:00", f"{year}-06-31", "0000-00-00 00:00:00",
                   f"{year}-13-01 10:00:00", "12/07/2025 10:30"]
    part["created_at"] = np.asarray(bad_created, dtype=object)[rng.integers(0, len(bad_created), k)]
    add_t.append(sort_t[rows] + 2)
    for c in USER_COLUMNS:
        add[c].append(part[c])

    out = {c: np.concatenate([users[c]] + add[c]) for c in USER_COLUMNS}
    return out, np.concatenate([sort_t] + add_t), bad_ids


def inject_event_rows(cfg, events, eu, et, layout, bad_user_ids, chunk, rng):
    """Append quarantine and duplicate rows to a chunk's events (mostly copies of
    regular rows with one field broken); returns columns and sort keys."""
    m = len(eu)
    cols = {c: events[c] for c in EVENT_COLUMNS}
    sort_u, sort_t = [eu], [et]
    if m == 0:
        return cols, eu, et
    next_seq = [m]
    year = 1970 + int(et[0]) // (365 * DAY + 6 * HOUR)

    def fresh_ids(k):
        ids = event_ids(chunk, np.arange(next_seq[0], next_seq[0] + k))
        next_seq[0] += k
        return ids

    def take(k, rows=None):
        rows = rng.integers(0, m, k) if rows is None else rows
        part = {c: cols[c][rows].copy() for c in EVENT_COLUMNS}
        part["event_id"] = fresh_ids(k)
        return rows, part

    parts = []

    def add(rows, part, t=None):
        parts.append(part)
        sort_u.append(eu[rows])
        sort_t.append(et[rows] if t is None else t)

    def n_of(key):
        return _count(EVENT_RATES[key], m)

    garbage_ts = [None, "", "not a timestamp", "N/A", "yesterday", f"{year}-02-30 10:15:00",
                  f"{year}-04-31T08:00:00Z", f"{year}-13-01 09:00:00", f"{year}-07-01 25:61:00",
                  "31/07/2025 14:22", "1751328000", f"{year}-07-01 10:00"]

    def future(k):
        t = cfg.as_of_s + rng.integers(3 * DAY, 500 * DAY, k)
        text = format_timestamps(t, pick(rng, TS_EVENT_P, k), rng)
        text[rng.random(k) < 0.15] = "2099-12-31 23:59:59"
        return t, text

    # missing user_id
    rows, part = take(n_of("missing_user_id"))
    part["user_id"] = np.asarray(BAD_USER_IDS, dtype=object)[rng.integers(0, len(BAD_USER_IDS), len(rows))]
    add(rows, part)
    # missing / blank event name
    rows, part = take(n_of("missing_event_name"))
    part["event_name"] = np.asarray(BAD_EVENT_NAMES, dtype=object)[rng.integers(0, len(BAD_EVENT_NAMES), len(rows))]
    add(rows, part)
    # invalid timestamp: garbage and impossible dates
    rows, part = take(n_of("invalid_timestamp"))
    part["event_timestamp"] = np.asarray(garbage_ts, dtype=object)[rng.integers(0, len(garbage_ts), len(rows))]
    add(rows, part)
    # future timestamp, far beyond as_of + 1 day (a device with a wrong clock)
    rows, part = take(n_of("future_timestamp"))
    ft, part["event_timestamp"] = future(len(rows))
    add(rows, part, ft)
    # invalid properties JSON
    rows, part = take(n_of("invalid_properties_json"))
    part["properties"] = np.asarray(BAD_JSON, dtype=object)[rng.integers(0, len(BAD_JSON), len(rows))]
    add(rows, part)
    # unknown user: deleted users and users whose created_at is invalid
    rows, part = take(n_of("unknown_user"))
    ghosts = np.array([f"u_deleted_{chunk:04d}{j:05d}" for j in range(len(rows))], dtype=object)
    use_bad = (rng.random(len(rows)) < 0.5) & (len(bad_user_ids) > 0)
    ghosts[use_bad] = np.asarray(bad_user_ids, dtype=object)[rng.integers(0, max(len(bad_user_ids), 1), int(use_bad.sum()))]
    part["user_id"] = ghosts
    add(rows, part)
    # several faults in one row (the first matching reason wins)
    k = n_of("multi_fault")
    rows, part = take(k)
    part["user_id"] = np.asarray(BAD_USER_IDS, dtype=object)[rng.integers(0, len(BAD_USER_IDS), k)]
    part["event_timestamp"] = np.asarray(garbage_ts, dtype=object)[rng.integers(0, len(garbage_ts), k)]
    add(rows, part)  # missing_user_id
    rows, part = take(k)
    part["event_name"] = np.full(k, "  ", dtype=object)
    part["properties"] = np.full(k, "{oops", dtype=object)
    add(rows, part)  # missing_event_name
    rows, part = take(k)
    ft, part["event_timestamp"] = future(k)
    part["properties"] = np.full(k, "{oops", dtype=object)
    add(rows, part, ft)  # future_timestamp
    rows, part = take(k)
    part["user_id"] = np.array([f"u_deleted_m{chunk:04d}{j:05d}" for j in range(k)], dtype=object)
    part["properties"] = np.full(k, "not json", dtype=object)
    add(rows, part)  # invalid_properties_json
    # padded user ids (valid after trimming)
    rows = rng.integers(0, m, n_of("padded_user_id"))
    cols["user_id"] = cols["user_id"].copy()
    cols["user_id"][rows] = np.array([f" {v}" if i % 2 else f"{v}  " for i, v in enumerate(cols["user_id"][rows])],
                                     dtype=object)
    # events without event_id that are sent twice (same content)
    rows = rng.integers(0, m, n_of("duplicate_no_event_id"))
    cols["event_id"] = cols["event_id"].copy()
    cols["event_id"][rows] = None
    part = {c: cols[c][rows].copy() for c in EVENT_COLUMNS}
    add(rows, part)
    # exact duplicates (same event_id, same row)
    with_id = np.nonzero(np.array([v is not None for v in cols["event_id"]]))[0]
    if len(with_id):
        rows = with_id[rng.integers(0, len(with_id), n_of("duplicate_event_id"))]
        add(rows, {c: cols[c][rows].copy() for c in EVENT_COLUMNS})
        # same event_id re-sent with another timestamp layout for the same instant
        whole = with_id[layout[with_id] != TS_FRAC]
        if len(whole):
            rows = whole[rng.integers(0, len(whole), n_of("duplicate_event_id_reformatted"))]
            part = {c: cols[c][rows].copy() for c in EVENT_COLUMNS}
            part["event_timestamp"] = format_timestamps(et[rows], np.where(layout[rows] == TS_Z, TS_P0200, TS_Z), rng)
            add(rows, part)

    out = {c: np.concatenate([cols[c]] + [p[c] for p in parts]) for c in EVENT_COLUMNS}
    return out, np.concatenate(sort_u), np.concatenate(sort_t)


# ----------------------------------------------------------------- writers


def _csv_field(value: str) -> str:
    if (value == "" or '"' in value or "," in value or "\n" in value or "\r" in value
            or value[0].isspace() or value[-1].isspace()):
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_column(values) -> list:
    """CSV fields of one column: null -> empty field; quoted when empty, padded with
    whitespace or containing a comma, quote or line break (RFC 4180 quote doubling).
    Each distinct value is escaped once."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    escaped = np.array([_csv_field(v) for v in uniques.tolist()] + [""], dtype=object)
    return escaped[codes].tolist()  # code -1 (null) takes the trailing ""


# ----------------------------------------------------------------- tracker layouts

EVENTS_LAYOUTS = ("canonical", "segment", "rudderstack", "amplitude", "mixpanel", "snowplow", "posthog")
# every property key the generator writes (the PROPS texts are all made at import)
PROPERTY_KEYS = sorted({key for text in PROPS[1:] for key in json.loads(text)})
# the Snowplow layout keeps the properties in one self-describing event column
SNOWPLOW_PROPERTIES_COLUMN = "unstruct_event_com_acme_product_event_1"
# layout -> (canonical column -> the layout's column); None: the column is not written
_LAYOUT_RENAMES = {
    "canonical": {c: c for c in EVENT_COLUMNS},
    "segment": {"event_id": "id", "user_id": "user_id", "event_name": "event", "event_timestamp": "timestamp",
                "properties": None},
    "amplitude": {"event_id": "uuid", "user_id": "user_id", "event_name": "event_type", "event_timestamp": "event_time",
                  "properties": "event_properties"},
    "mixpanel": {"event_id": "insert_id", "user_id": "distinct_id", "event_name": "name", "event_timestamp": "time",
                 "properties": "properties"},
    "snowplow": {"event_id": "event_id", "user_id": "user_id", "event_name": "event_name",
                 "event_timestamp": "derived_tstamp", "properties": SNOWPLOW_PROPERTIES_COLUMN},
    "posthog": {"event_id": "uuid", "user_id": "distinct_id", "event_name": "event", "event_timestamp": "timestamp",
                "properties": "properties"},
}
_LAYOUT_RENAMES["rudderstack"] = _LAYOUT_RENAMES["segment"]


def event_layout_columns(layout: str) -> list:
    """The columns of the events table in `layout`: the renamed canonical columns, and
    in the Segment and RudderStack layouts one column per property key."""
    renames = _LAYOUT_RENAMES[layout]
    columns = [renames[c] for c in EVENT_COLUMNS if renames[c] is not None]
    return columns + (PROPERTY_KEYS if layout in ("segment", "rudderstack") else [])


def spread_properties(text):
    """{key: value as text} of a properties text that is a JSON object, else {} (a
    layout that spreads properties over columns cannot hold anything else)."""
    if text is None:
        return {}
    try:
        obj = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(obj, dict):
        return {}
    return {k: (v if isinstance(v, str) or v is None else _compact(v)) for k, v in obj.items()}


def events_in_layout(df: pd.DataFrame, layout: str) -> pd.DataFrame:
    """The canonical events rows `df` as the events table of a tracker's layout (the
    columns of `event_layout_columns`). The same rows, renamed; in the Segment and
    RudderStack layouts the properties spread over columns, one per key (a properties
    text that is not a JSON object, e.g. invalid JSON, leaves them all null)."""
    renames = _LAYOUT_RENAMES[layout]
    out = pd.DataFrame({renames[c]: df[c].to_numpy(dtype=object) for c in EVENT_COLUMNS if renames[c] is not None})
    if layout in ("segment", "rudderstack"):
        spread = [spread_properties(text) for text in df["properties"].to_numpy(dtype=object)]
        for key in PROPERTY_KEYS:
            out[key] = np.asarray([values.get(key) for values in spread], dtype=object)
    return out


def csv_lines(df: pd.DataFrame) -> str:
    if not len(df):
        return ""
    columns = [csv_column(df[c].to_numpy(dtype=object)) for c in df.columns]
    return "\n".join(map(",".join, zip(*columns))) + "\n"


class CsvSink:
    def __init__(self, directory: Path, events_layout: str = "canonical"):
        directory.mkdir(parents=True, exist_ok=True)
        self.files = {}
        self.events_layout = events_layout
        for table, columns in (("users", USER_COLUMNS), ("events", event_layout_columns(events_layout))):
            handle = open(directory / f"{table}.csv", "w", encoding="utf-8", newline="")
            handle.write(",".join(columns) + "\n")
            self.files[table] = handle

    def write(self, table: str, df: pd.DataFrame):
        if table == "events":
            df = events_in_layout(df, self.events_layout)
        self.files[table].write(csv_lines(df))

    def close(self):
        for handle in self.files.values():
            handle.close()


class DuckDBSink:
    def __init__(self, path: Path, schema: str, events_layout: str = "canonical"):
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path))
        self.schema = schema
        self.events_layout = events_layout
        self.con.execute(f'create schema if not exists "{schema}"')
        for table, columns in (("users", USER_COLUMNS), ("events", event_layout_columns(events_layout))):
            column_sql = ", ".join(f'"{c}" varchar' for c in columns)
            self.con.execute(f'create or replace table "{schema}"."{table}" ({column_sql})')

    def write(self, table: str, df: pd.DataFrame):
        if table == "events":
            df = events_in_layout(df, self.events_layout)
        self.con.register("_generator_chunk", df)
        try:
            self.con.execute(f'insert into "{self.schema}"."{table}" select * from _generator_chunk')
        finally:
            self.con.unregister("_generator_chunk")

    def close(self):
        self.con.close()


# ----------------------------------------------------------------- CLI


def generate(cfg: Config, sinks, quiet: bool = False) -> dict:
    from tqdm import tqdm

    signups = SignupModel(cfg)
    pool = InvitePool()
    totals = {"users": 0, "events": 0}
    for chunk in tqdm(range(cfg.n_chunks), disable=quiet, unit="chunk", desc="generating", file=sys.stderr):
        users_df, events_df = generate_chunk(cfg, signups, pool, chunk)
        for sink in sinks:
            sink.write("users", users_df)
            sink.write("events", events_df)
        totals["users"] += len(users_df)
        totals["events"] += len(events_df)
    return totals


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate_data.py",
        description="Generate deterministic demo data (raw `users` and `events`, all VARCHAR) for the "
                    "milestone_activation dbt package. Same flags give byte-identical output.",
        epilog="At least one of --duckdb / --csv-dir is required unless --print-vars is given.\n"
               "Regular events end before activation_as_of = start + days; quarantine rows of every\n"
               "contract reason (and duplicates) are mixed in at small rates.\n\n"
               "examples:\n"
               "  python scripts/generate_data.py --duckdb demo.duckdb\n"
               "  python scripts/generate_data.py --users 2000000 --csv-dir /data/demo --quiet\n"
               "  dbt build --vars \"$(python scripts/generate_data.py --print-vars)\"",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--users", type=int, default=5000, help="number of (valid) users to generate")
    parser.add_argument("--events-per-user", type=float, default=55,
                        help="average regular events per user (heavy-tailed; the funnel events put a floor of about 10; "
                             "quarantine and duplicate rows come on top)")
    parser.add_argument("--days", type=int, default=120, help="length of the period; signups spread over it")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2025, 6, 2),
                        help="first day of the period (YYYY-MM-DD); activation_as_of = start + days at 00:00:00")
    parser.add_argument("--seed", type=int, default=42, help="random seed (>= 0)")
    parser.add_argument("--duckdb", type=Path, metavar="PATH",
                        help="DuckDB file to write <schema>.users and <schema>.events into (tables are replaced)")
    parser.add_argument("--schema", default="raw", help="DuckDB schema for the raw tables")
    parser.add_argument("--csv-dir", type=Path, metavar="DIR", help="directory to write users.csv and events.csv into")
    parser.add_argument("--chunk-users", type=int, default=20000,
                        help="users generated and written per chunk (bounds memory; part of the output's identity)")
    parser.add_argument("--events-layout", choices=EVENTS_LAYOUTS, default="canonical",
                        help="write the events table in a tracker's layout (the same rows; set the package's var "
                             "activation_events_layout to match, see the README)")
    parser.add_argument("--print-vars", action="store_true",
                        help="print the dbt --vars for this data as one line of JSON and exit without generating")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.users < 1 or args.days < 1 or args.chunk_users < 1 or args.events_per_user <= 0 or args.seed < 0:
        parser.error("--users, --days, --chunk-users and --events-per-user must be positive and --seed >= 0")
    cfg = Config(users=args.users, events_per_user=float(args.events_per_user), days=args.days,
                 start=args.start, seed=args.seed, chunk_users=args.chunk_users)
    if args.print_vars:
        print(json.dumps(dbt_vars(cfg)))
        return 0
    if args.duckdb is None and args.csv_dir is None:
        parser.error("nothing to write: give --duckdb PATH and/or --csv-dir DIR (or --print-vars)")
    sinks = []
    try:
        if args.csv_dir is not None:
            sinks.append(CsvSink(args.csv_dir, args.events_layout))
        if args.duckdb is not None:
            sinks.append(DuckDBSink(args.duckdb, args.schema, args.events_layout))
        totals = generate(cfg, sinks, quiet=args.quiet)
    finally:
        for sink in sinks:
            sink.close()
    if not args.quiet:
        print(f"wrote {totals['users']} user rows and {totals['events']} event rows "
              f"({cfg.n_chunks} chunk(s)); vars: {json.dumps(dbt_vars(cfg))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
