"""Pure domain model: no I/O, no network, no UI."""
