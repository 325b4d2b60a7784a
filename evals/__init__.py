"""cardcare evals package."""
