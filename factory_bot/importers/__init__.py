"""An existing API's description (OpenAPI) → a spec, deterministic, with no model call."""
