"""The HTTP layer of the service: dependencies, error handlers, and one router module per resource."""
