"""Errors every storage port raises, whichever adapter is behind it."""


class StoreError(Exception):
    pass


class NotFound(StoreError):
    """The item does not exist."""


class Conflict(StoreError):
    """Create of an item that already exists."""


class PreconditionFailed(StoreError):
    """The ETag given with a write does not match the stored item (someone else wrote first)."""
