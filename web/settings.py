"""Settings from the environment (and an optional ``.env`` file)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.alert_channels import parse_emails, parse_webhooks
from domain.alert_delivery import OnCall
from domain.dispatch import DispatchPolicy
from domain.errors import ValidationFailed
from domain.reports import report_zone
from realtime.geotab.pacing import DEFAULT_FAST_SECONDS, DEFAULT_IDLE_SECONDS
from realtime.geotab.protocol import GETFEED_MIN_SECONDS

#: Shortest SECRET_KEY accepted: it signs every access token (HS256), so it must be long random text.
MIN_SECRET_LENGTH = 32
#: The development key once committed here: anyone can read it, so it is refused.
_PUBLISHED_KEYS = frozenset({"dev-only-insecure-key-change-me-0123456789abcdef"})


class InsecureSettings(ValueError):
    """The process must not start with these settings (say what to set)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/dispatch.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///... (embedded) or postgresql://...",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL (redis://host:6379/0): the event bus and login "
                                  "counters every process shares; unset: in-process (one "
                                  "process only).")
    redis_prefix: str = Field(default="dispatch", description="Prefix of every Redis channel/key.")
    secret_key: SecretStr | None = Field(
        default=None,
        description=f"Signs access tokens: at least {MIN_SECRET_LENGTH} characters of random text. "
                    "Required outside the demo, which makes its own (DEMO_SECRET_FILE).")
    demo_secret_file: str = Field(
        default="./var/secret_key",
        description="Demo only: where the demo keeps the random signing key it made.")
    demo: bool = Field(default=False, description="Demo mode: demo logins, simulated feeds.")
    host: str = Field(default="127.0.0.1",
                      description="Address `dispatch serve` listens on when --host is not given.")
    port: int = Field(default=8000,
                      description="Port `dispatch serve` listens on when --port is not given.")
    web_concurrency: int = Field(
        default=1, ge=1,
        description="Web worker processes `dispatch serve` runs behind its port when --workers "
                    "is not given; more than one needs PostgreSQL, REDIS_URL and "
                    "RUN_FEEDS=false.")
    token_ttl_seconds: int = Field(
        default=8 * 3600, description="How long an access token (a sign-in) lasts, in seconds.")
    delegation_refresh_seconds: float = Field(
        default=5.0, gt=0, description="How soon other processes see a revoked delegation.")
    allow_past_dispatch: bool = Field(
        default=False,
        description="Allow a dispatch dated more than 5 minutes in the past (back-office entry).")
    login_max_failures: int = Field(
        default=5, description="Failed logins for one username within LOGIN_LOCKOUT_SECONDS before "
                               "that username gets 429.")
    login_lockout_seconds: int = Field(
        default=300, description="The window failed logins are counted in, in seconds; a locked "
                                 "username or address waits for the rest of it.")
    login_max_failures_per_address: int = Field(
        default=20, ge=1,
        description="Failed logins from one client address (any usernames) within "
                    "LOGIN_LOCKOUT_SECONDS before that address gets 429.")
    login_max_concurrent_verifications: int = Field(
        default=4, ge=1,
        description="Password checks (argon2, 64 MiB each) running at once per process.")
    login_verification_wait_seconds: float = Field(
        default=5.0, gt=0,
        description="How long a login waits for a password-check turn before a 503.")
    planning_workers: int = Field(
        default=1, ge=1,
        description="Plans solving at once (each in a solver process, one core): across every "
                    "web process sharing REDIS_URL, else in this process; others queue.")
    planning_max_waiting: int = Field(
        default=8, ge=0,
        description="Plans allowed to wait for a solver (across the web processes sharing "
                    "REDIS_URL); more get 503 planner_busy.")
    planning_queue_timeout_seconds: float = Field(
        default=120.0, gt=0,
        description="How long a plan may wait for a solver before a 503 planner_busy.")
    ws_auth_timeout: float = Field(
        default=5.0, description="Seconds a new websocket has to send its auth frame before it is "
                                 "closed.")
    ws_max_pending: int = Field(
        default=2_000, description="Events waiting for one websocket session before it is closed "
                                   "(4008) and the client resumes with `since`.")
    ws_heartbeat_seconds: float = Field(
        default=15.0, description="Seconds between heartbeats sent to each websocket session.")
    ws_max_frame_bytes: int = Field(
        default=64 * 1024, ge=1024,
        description="Largest websocket frame a client may send (the first, auth, included).")
    ws_subscribes_per_minute: int = Field(
        default=10, ge=1, description="Subscribes per websocket session and minute (each may "
                                      "read a whole snapshot).")
    ws_max_sessions_per_user: int = Field(
        default=10, ge=1, description="Open websocket sessions per user on one web process (a "
                                      "bound on what one process holds: N processes, N times).")
    allowed_origins: str = Field(
        default="", description="Browser origins allowed to open /ws besides the server's own "
                                "host, space-separated (https://board.example.com).")
    event_retention_days: int = Field(
        default=7, description="Days published events stay in the event log (outbox); a client "
                               "resuming from an older one gets a snapshot.")
    idempotency_keep_hours: int = Field(
        default=24, ge=1, description="How long a retry with the same Idempotency-Key gets the "
                                      "first answer; older keys are pruned hourly.")
    position_history_days: int = Field(
        default=30, description="Days vehicle position breadcrumbs (position history) are kept.")
    attachment_unused_keep_days: int = Field(
        default=1, ge=0,
        description="Days after a work order closes before uploads its proof never used go.")
    intake_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Order-intake webhook secret(s), whsec_<base64>, space-separated; unset: off.")
    intake_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="How far (seconds, either way) an intake webhook's "
                                       "timestamp may be from now before it is refused.")
    intake_partner: str = Field(
        default="partner", min_length=1, max_length=48,
        description="Partner name recorded as the source of intake orders (their external ids "
                    "are unique per partner).")
    attachment_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1,
        description="Largest proof-of-work upload (photo, signature) in bytes; larger is 413.")
    partner_feed_url: str | None = Field(
        default=None,
        description="Partner order feed base URL; unset: no poller (demo: a local simulator).")
    partner_feed_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to PARTNER_FEED_URL; unset: none.")
    partner_feed_interval_seconds: float = Field(
        default=30.0, gt=0, description="Seconds between polls of the partner order feed.")
    partner_webhook_url: str | None = Field(
        default=None, description="Where the partner receives its jobs' status changes (signed "
                                  "webhooks); unset: none sent (demo: the local simulator).")
    partner_webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_<base64> key signing the webhooks to the partner.")
    partner_webhook_max_attempts: int = Field(
        default=8, ge=1, le=50, description="Tries of one webhook to the partner (backoff from "
                                            "10 s doubling to 1 h) before it is dead-lettered.")
    geotab_server: str | None = Field(
        default=None, description="MyGeotab server (host or URL); unset: no GeoTab feed.")
    geotab_database: str = Field(default="", description="MyGeotab database name.")
    geotab_username: str = Field(default="", description="MyGeotab user the feed signs in as.")
    geotab_password: SecretStr = Field(
        default=SecretStr(""), description="Password of GEOTAB_USERNAME.")
    geotab_poll_seconds: float = Field(
        default=DEFAULT_IDLE_SECONDS, ge=GETFEED_MIN_SECONDS,
        description="Longest wait between polls of a GeoTab feed, in seconds: while pages come "
                    "back empty the wait doubles from GEOTAB_POLL_FAST_SECONDS up to this. At "
                    "least GEOTAB_POLL_FAST_SECONDS (the same value: a fixed interval).")
    geotab_poll_fast_seconds: float = Field(
        default=DEFAULT_FAST_SECONDS, ge=GETFEED_MIN_SECONDS,
        description="Seconds from the start of one poll of a GeoTab feed to the next while "
                    "positions flow (a full page is followed after at most 1.1 s). MyGeotab "
                    "allows one GetFeed call a second per feed, so at least 1.")
    geotab_backoff_cap_seconds: float = Field(
        default=300.0, ge=1, description="Longest wait between retries while MyGeotab keeps "
                                         "failing (the wait doubles from 1 s, with jitter).")
    run_feeds: bool = Field(
        default=True,
        description="Run the GeoTab feed and the partner poller in this process (web processes "
                    "may leave them to a `dispatch worker`).")
    alerts_enabled: bool = Field(
        default=True, description="Evaluate the alert rules (where RUN_FEEDS is on).")
    alerts_interval_seconds: float = Field(
        default=15.0, gt=0, description="How often the alert rules run (and escalations happen).")
    alert_escalation_minutes: float = Field(
        default=5.0, gt=0, description="An unacknowledged critical alert climbs a level this often.")
    genesys_base_url: str | None = Field(
        default=None, description="Genesys Cloud API (https://api.<region>); unset: SMS only logged.")
    genesys_login_url: str | None = Field(
        default=None, description="Genesys Cloud login (https://login.<region>) for OAuth.")
    genesys_client_id: str = Field(
        default="", description="Genesys Cloud OAuth client id (client credentials); unset: SMS "
                                "only logged.")
    genesys_client_secret: SecretStr = Field(
        default=SecretStr(""), description="Genesys Cloud OAuth client secret.")
    genesys_from_number: str = Field(default="", description="The org's SMS number (E.164).")
    alert_oncall_phones: str = Field(
        default="", description="Escalation numbers for a level no on-call rota covers (texted, "
                                "and called when calls are set up): '+1555..., 2=+1555..., "
                                "3=+1555...' (a bare number gets every level).")
    alert_notify_max_attempts: int = Field(
        default=5, ge=1, le=50,
        description="Attempts at sending one escalation text before it is given up.")
    genesys_contact_list_id: str = Field(
        default="", description="The contact list of the agentless Outbound campaign that calls "
                                "the people on call (voice with a keypress); unset: no calls.")
    genesys_callback_secret: SecretStr = Field(
        default=SecretStr(""),
        description="The shared secret Genesys Cloud's data actions send (X-Callback-Secret) to "
                    "/api/voice/keypress and /api/sms/replies; unset: those answer 404.")
    alert_call_timeout_seconds: float = Field(
        default=180.0, ge=30, le=3600,
        description="An escalation call without a key by then counts as not acknowledged.")
    alert_group_seconds: float = Field(
        default=60.0, ge=0, le=3600,
        description="Alerts of one kind and store that follow another within this many seconds "
                    "reach each person together, in one message at the end of it (0: never "
                    "grouped).")
    alert_notify_warnings: bool = Field(
        default=False,
        description="Warnings also reach level 1 once, by text and e-mail (no call, no "
                    "escalation), held during each person's quiet hours.")
    smtp_host: str = Field(
        default="", description="The mail server escalation e-mails go through; unset: no e-mail.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The mail server's port.")
    smtp_security: Literal["auto", "starttls", "tls", "none"] = Field(
        default="auto", description="auto: STARTTLS when the server offers it; starttls: always; "
                                    "tls: implicit TLS (port 465); none: plain.")
    smtp_username: str = Field(default="", description="The mail server login (unset: none).")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="Its password.")
    alert_email_from: str = Field(
        default="dispatch-board@localhost", description="The From of escalation e-mails.")
    alert_emails: str = Field(
        default="", description="Escalation e-mail addresses per level: 'ops@example.com, "
                                "2=duty@example.com' (a bare address gets every level); the "
                                "people on call with an address of their own get one too.")
    alert_webhooks: str = Field(
        default="", description="Chat and incident tools escalations are posted to: a JSON list "
                                "of {name, url, format (teams, pagerduty, servicenow, json) or "
                                "template, levels, secret (signs as a Standard Webhook), "
                                "routing_key ...} (docs/alerts.md).")
    public_url: str = Field(
        default="", description="Where customers reach this service (https://dispatch.example.com):"
                                " the start of tracking links in texts; unset: http://HOST:PORT.")
    tracking_hours_after_close: float = Field(
        default=2.0, gt=0, le=720,
        description="Hours a job's tracking page still shows it once completed or cancelled.")
    genesys_inbound_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Signs the customers' replies Genesys Cloud forwards to /api/sms/inbound "
                    "(X-Hub-Signature-256); unset: replies are refused (404).")
    tile_url: str = Field(
        default="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tile URL template of the board; the content security policy allows its "
                    "host.")
    geocoder: str = Field(
        default="", pattern="^(|nominatim)$",
        description="Address look-up for booking a job: nominatim (an OpenStreetMap Nominatim "
                    "server) or empty (none: the place comes from the customer's saved address "
                    "or a click on the map).")
    geocoder_url: str = Field(
        default="https://nominatim.openstreetmap.org",
        description="The Nominatim server GEOCODER=nominatim asks (its own is kinder to the "
                    "public one, which allows one request a second).")
    geocoder_user_agent: str = Field(
        default="dispatch-board", min_length=1, max_length=200,
        description="How the look-ups introduce themselves to the geocoder (Nominatim's usage "
                    "policy asks for the application's name and a contact).")
    log_level: str = Field(
        default="info", description="Log level: debug, info, warning or error.")
    log_json: bool = Field(
        default=False, description="Logs as JSON lines (one object a line) instead of readable "
                                   "lines.")
    gc_tuning: bool = Field(
        default=False,
        description="Garbage collection for a long-running web process: what start-up made is "
                    "frozen out of the collector's full passes, and young objects are collected "
                    "less often, so the event loop pauses less and more briefly under load. "
                    "``dispatch serve`` and ``dispatch demo`` turn it on unless it is set.")
    metrics_enabled: bool | None = Field(
        default=None,
        description="Answer /metrics (Prometheus) on the app port. Unset: on in the demo only. "
                    "Turn it on only where the port is not public, or block /metrics at the "
                    "load balancer.")
    ready_outbox_max_age_seconds: float = Field(
        default=30.0, gt=0,
        description="/readyz fails when the oldest unpublished event is older than this.")
    ready_feed_stale_seconds: float = Field(
        default=300.0, gt=0,
        description="/readyz fails when a feed has had no successful call for this long (at "
                    "least three of its poll intervals).")
    ready_worker_failures: int = Field(
        default=3, ge=1,
        description="/readyz fails when a background worker failed this many times in a row.")
    report_timezone: str | None = Field(
        default=None,
        description="The company's calendar the reports count days, weeks and months on: an IANA "
                    "zone a whole number of hours from UTC (America/Chicago). Unset: the zone "
                    "most stores are in, else UTC.")

    @model_validator(mode="after")
    def _geotab_pacing(self) -> Settings:
        if self.geotab_poll_seconds < self.geotab_poll_fast_seconds:
            raise ValueError("GEOTAB_POLL_SECONDS (the longest wait between polls) must be at "
                             "least GEOTAB_POLL_FAST_SECONDS")
        return self

    @field_validator("alert_emails", "alert_webhooks", "alert_oncall_phones")
    @classmethod
    def _alert_recipients(cls, value: str, info: ValidationInfo) -> str:
        parse = {"alert_emails": parse_emails, "alert_webhooks": parse_webhooks,
                 "alert_oncall_phones": OnCall.parse}[str(info.field_name)]
        try:
            parse(value)
        except ValidationFailed as error:
            raise ValueError(error.message) from error
        return value

    @field_validator("report_timezone")
    @classmethod
    def _report_zone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return report_zone(value).key
        except ValidationFailed as error:
            raise ValueError(error.message) from error

    @cached_property
    def dispatch_policy(self) -> DispatchPolicy:
        return DispatchPolicy(allow_past_datetime=self.allow_past_dispatch,
                              past_tolerance=dt.timedelta(minutes=5))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The key that signs access tokens. Refuses (``InsecureSettings``) a missing, short or
        published key outside the demo; the demo makes a random one and keeps it in a file."""
        value = self.secret_key.get_secret_value() if self.secret_key is not None else ""
        if value:
            if len(value) < MIN_SECRET_LENGTH or value in _PUBLISHED_KEYS:
                raise InsecureSettings(
                    f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters of random text "
                    "and not a published example; make one with: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))'")
            return value
        if self.demo:
            return _demo_key(Path(self.demo_secret_file))
        raise InsecureSettings(
            "SECRET_KEY is not set: it signs every access token, so the service will not start "
            f"without one (at least {MIN_SECRET_LENGTH} characters of random text; make one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'). Only the demo "
            "(DEMO=true) makes its own.")


def _demo_key(path: Path) -> str:
    """The demo's own random key: made once (only the owner may read it), then kept, so demo
    logins survive a restart and every worker of the demo signs with the same key. Written in
    full to a private file first and linked into place, so a worker never reads half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            draft.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise InsecureSettings(f"{path} does not hold a usable key: remove it")
    return key
