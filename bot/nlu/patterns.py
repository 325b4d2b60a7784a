"""Building patterns from term lists, in both scripts."""

from __future__ import annotations

import re
from collections.abc import Sequence

LATIN_START = r"(?<![a-z])"
"""A Latin word starts here. ``\\b`` fails between a Chinese character and a letter ("我的pin")."""
LATIN_END = r"(?![a-z])"


def terms(anywhere: Sequence[str] = (), words: Sequence[str] = ()) -> re.Pattern[str]:
    """One pattern: ``anywhere`` fragments match anywhere, ``words`` only as whole Latin words.

    Fragments are regular expressions over normalised (lower-case) text.
    """
    parts = list(anywhere)
    if words:
        parts.append(f"{LATIN_START}(?:{'|'.join(words)}){LATIN_END}")
    return re.compile("|".join(parts))
