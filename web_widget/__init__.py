"""cardcare web_widget package."""
