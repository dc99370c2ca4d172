"""MCP Factory: a sentence or a spec YAML in, a validated TypeScript MCP server out."""

__version__ = "0.1.0"
