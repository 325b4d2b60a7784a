"""Compliance rule data (YAML), loaded by ``bot.guardrails.compliance.load_rules``."""
