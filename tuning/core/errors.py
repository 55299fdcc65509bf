"""Errors meant for people: each message says what is wrong and what to do."""


class UserError(Exception):
    """Bad input from a user. The message is shown as is, without a traceback."""


class DataError(UserError):
    """A dataset cannot be used as given."""


class SpaceError(UserError):
    """A search space (or one parameter of it) is invalid."""


class ConfigError(UserError):
    """A run configuration is invalid."""


class StorageError(UserError):
    """The storage cannot be reached, read or written (bad URL, server down, read-only, full)."""
