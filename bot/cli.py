"""The ``cardcare`` command line (filled in by the service)."""


def main() -> None:
    """Entry point placeholder replaced by the service CLI."""
    raise SystemExit("cardcare: not built yet")
