"""Business rules of the core module; other modules call these, never the core tables."""
