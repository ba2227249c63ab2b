"""The law data's error, in a module of its own so that a command can catch it without loading the law's schema."""


class LawDataError(ValueError):
    """A law data file is invalid; the message names the file and the field."""
