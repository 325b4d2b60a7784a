"""Input-signal data (YAML), loaded by ``bot.guardrails.input``."""
