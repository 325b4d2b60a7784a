"""Reply composition: knowledge answers, account answers, and the draft they produce."""
