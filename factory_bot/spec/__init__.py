"""The spec: the pydantic model every stage reads, and the one located YAML -> model loader."""
