"""ADMX/ADML tooling (the linter used by ``policy lint-admx`` and the CI gate)."""
