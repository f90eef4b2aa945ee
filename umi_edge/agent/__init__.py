"""The α-UMi agent loop: planner → caller → tool → observation → … → summarizer (or give up)."""
