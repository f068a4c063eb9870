"""One router module per resource of the native API (plus ``quafu`` for the legacy protocol, issue 6)."""
