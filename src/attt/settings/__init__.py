"""Settings come from environment variables (ATTT_*); the modules here only choose defaults per use."""
