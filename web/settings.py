"""Settings from the environment (and an optional ``.env`` file)."""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.dispatch import DispatchPolicy

INSECURE_DEV_KEY = "dev-only-insecure-key-change-me-0123456789abcdef"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/dispatch.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///... (embedded) or postgresql://...",
    )
    redis_url: str | None = Field(default=None, description="Unset: the in-process bus.")
    redis_prefix: str = Field(default="dispatch", description="Prefix of every Redis channel/key.")
    secret_key: SecretStr = Field(default=SecretStr(INSECURE_DEV_KEY))
    demo: bool = Field(default=False, description="Demo mode: demo logins, simulated feeds.")
    host: str = "127.0.0.1"
    port: int = 8000
    token_ttl_seconds: int = 8 * 3600
    delegation_refresh_seconds: float = Field(
        default=5.0, gt=0, description="How soon other processes see a revoked delegation.")
    allow_past_dispatch: bool = False
    login_max_failures: int = 5
    login_lockout_seconds: int = 300
    ws_auth_timeout: float = 5.0
    ws_max_pending: int = 2_000
    ws_heartbeat_seconds: float = 15.0
    event_retention_days: int = 7
    position_history_days: int = 30
    attachment_unused_keep_days: int = Field(
        default=1, ge=0,
        description="Days after a work order closes before uploads its proof never used go.")
    intake_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Order-intake webhook secret(s), whsec_<base64>, space-separated; unset: off.")
    intake_webhook_tolerance_seconds: int = Field(default=300, ge=1)
    intake_partner: str = Field(default="partner", min_length=1, max_length=48)
    attachment_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1,
        description="Largest proof-of-work upload (photo, signature) in bytes; larger is 413.")
    partner_feed_url: str | None = Field(
        default=None,
        description="Partner order feed base URL; unset: no poller (demo: a local simulator).")
    partner_feed_token: SecretStr | None = None
    partner_feed_interval_seconds: float = Field(default=30.0, gt=0)
    geotab_server: str | None = Field(
        default=None, description="MyGeotab server (host or URL); unset: no GeoTab feed.")
    geotab_database: str = ""
    geotab_username: str = ""
    geotab_password: SecretStr = SecretStr("")
    geotab_poll_seconds: float = Field(default=30.0, gt=0)
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
    genesys_client_id: str = ""
    genesys_client_secret: SecretStr = SecretStr("")
    genesys_from_number: str = Field(default="", description="The org's SMS number (E.164).")
    alert_oncall_phones: str = Field(
        default="", description="Escalation SMS numbers: '+1555..., 2=+1555..., 3=+1555...' (a "
                                "bare number gets every level; users have no phone of their own).")
    alert_notify_max_attempts: int = Field(default=5, ge=1, le=50)
    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    log_level: str = "info"
    log_json: bool = False

    @cached_property
    def dispatch_policy(self) -> DispatchPolicy:
        return DispatchPolicy(allow_past_datetime=self.allow_past_dispatch,
                              past_tolerance=dt.timedelta(minutes=5))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_production_safety(self) -> list[str]:
        """Warnings for a deployment that kept development defaults."""
        warnings = []
        if self.secret_key.get_secret_value() == INSECURE_DEV_KEY and not self.demo:
            warnings.append("SECRET_KEY is the development default: set a long random value")
        return warnings
