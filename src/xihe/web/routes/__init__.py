"""Page routes, one module per area: ``auth``, ``backends``, ``editor``, ``jobs``, ``account``, ``admin``."""
