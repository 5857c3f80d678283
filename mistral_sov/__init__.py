"""mistral-sov: keep AI prompts and answers inside designated EU zones, and prove it."""

__version__ = "0.1.0"
