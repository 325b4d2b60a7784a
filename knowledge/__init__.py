"""cardcare knowledge package."""
