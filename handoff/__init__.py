"""cardcare handoff package."""
