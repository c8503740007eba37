"""Sign-in throttling at the edge: failed sign-ins counted per account and per client,
and password checks run a few at a time.

* **Failures** are counted in a moving window (``limits``' moving-window strategy) per
  account (the email, whether or not it has an account, so throttling reveals nothing) and
  per client address. When either count is spent, sign-ins for that account or from that
  client are refused unchecked, right password or not, with 429 and ``Retry-After``: the
  seconds until the oldest failure leaves the window. Refused attempts are not counted, so
  a lockout never outlasts the window after the last failure it counted, however often the
  locked account is tried meanwhile; keeping a real user locked out takes fresh failures in
  every window, each of them recorded in ``login_event``.
* **Checks** (Argon2: about 0.1 s of one core each) run at most ``login_concurrency`` at a
  time, with at most ``login_queue`` more waiting; further sign-ins get 429 at once. A flood
  of sign-ins therefore holds a bounded number of worker threads and cores, and other
  requests keep their speed.

The client is the connection's address (``request.client``); an ``X-Forwarded-For`` header
is never read here, as any client could forge it. Behind a reverse proxy, run uvicorn with
proxy headers trusted from that proxy only (``FORWARDED_ALLOW_IPS``; ``dualimpact serve``
trusts loopback by default), which sets the connection's address from the proxy's header.
IPv6 clients are counted by /64 network, the block one subscriber usually holds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv6Address, ip_address, ip_network
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine

from accounts import login
from accounts.users import User, normalise_email
from api.deps import settings_of
from geo.errors import AuthenticationError, TooManyAttemptsError
from geo.settings import Settings

_create = threading.Lock()


class LoginThrottle:
    """The sign-in limits of one app (see the module's documentation)."""

    def __init__(self, settings: Settings) -> None:
        try:
            storage = storage_from_string(settings.login_throttle_storage)
        except ConfigurationError as exc:
            raise RuntimeError(
                f"DUALIMPACT_LOGIN_THROTTLE_STORAGE={settings.login_throttle_storage!r} cannot "
                f"be used ({exc}): set it to memory:// (counts kept per process) or install the "
                "client library that storage needs"
            ) from exc
        self._limiter = MovingWindowRateLimiter(storage)
        window = settings.login_window_seconds
        self._limits: tuple[tuple[RateLimitItem, str], ...] = (
            (
                RateLimitItemPerSecond(settings.login_failures_per_account, window, "account"),
                "too many failed sign-ins for this account",
            ),
            (
                RateLimitItemPerSecond(settings.login_failures_per_client, window, "client"),
                "too many failed sign-ins from this address",
            ),
        )
        self._slots = threading.Semaphore(settings.login_concurrency)
        self._admit_at_most = settings.login_concurrency + settings.login_queue
        self._admitted = 0
        self._count_lock = threading.Lock()

    def sign_in(self, engine: Engine, email: str, password: str, client: str) -> User:
        """:func:`accounts.login.sign_in` (same parameters; ``client`` is the key from
        :func:`client_address`), through the throttle; refused attempts are recorded too.

        Raises
        ------
        TooManyAttemptsError
            The account or the client has spent its failures (``retry_after``: seconds until
            one leaves the window), or too many sign-ins are in already (1 s).
        AuthenticationError
            Wrong email or password (a failure for the account and for the client).
        """
        account = normalise_email(email)[: login.EMAIL_CHARS]
        try:
            self._refuse_if_spent(account, client)
            with self._slot():
                self._refuse_if_spent(account, client)  # others may have failed meanwhile
                return login.sign_in(engine, email, password, client)
        except TooManyAttemptsError as refused:
            login.record_refusal(engine, email, client, str(refused))
            raise
        except AuthenticationError:
            for (item, _), key in zip(self._limits, (account, client), strict=True):
                self._limiter.hit(item, key)
            raise

    def _refuse_if_spent(self, account: str, client: str) -> None:
        spent = [
            (message, self._limiter.get_window_stats(item, key).reset_time)
            for (item, message), key in zip(self._limits, (account, client), strict=True)
            if not self._limiter.test(item, key)
        ]
        if spent:
            message, reset = max(spent, key=lambda refusal: refusal[1])
            raise TooManyAttemptsError(message, math.ceil(reset - time.time()))

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """Wait for a free password checker, unless too many sign-ins are in already."""
        with self._count_lock:
            if self._admitted >= self._admit_at_most:
                raise TooManyAttemptsError("the server is busy checking other sign-ins", 1)
            self._admitted += 1
        try:
            with self._slots:
                yield
        finally:
            with self._count_lock:
                self._admitted -= 1


def client_address(request: Request) -> str:
    """The key a client is counted by: its address, or its /64 network for IPv6.

    Parameters
    ----------
    request : Request
        The request; its connection's address is used (see the module's documentation).

    Returns
    -------
    str
        An address, a network (``2001:db8:1:2::/64``), or ``"unknown"`` when the server
        does not say.
    """
    host = request.client.host if request.client else None
    if host is None:
        return "unknown"
    try:
        parsed = ip_address(host)
    except ValueError:
        return host
    if isinstance(parsed, IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def login_throttle(request: Request) -> LoginThrottle:
    """The app's throttle, made on first use from the app's settings."""
    state = request.app.state
    with _create:
        if not hasattr(state, "login_throttle"):
            state.login_throttle = LoginThrottle(settings_of(request))
        throttle: LoginThrottle = state.login_throttle
    return throttle


ThrottleDep = Annotated[LoginThrottle, Depends(login_throttle)]
