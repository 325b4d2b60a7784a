"""cardcare bot package."""
