"""The one exception hierarchy of paperscope, shared by every layer (models is the lowest)."""


class PaperscopeError(Exception):
    """Base of every expected failure; `kind` names it in the API's error body."""

    kind = "error"


class BadInputError(PaperscopeError):
    """A file, record or argument that cannot be used as given."""

    kind = "bad_input"


class InvalidQueryError(BadInputError):
    """A search or discovery request that is malformed (empty query, k out of range, ...)."""

    kind = "invalid_query"


class NotFoundError(PaperscopeError):
    """An unknown paper id, author name or index folder."""

    kind = "not_found"


class IndexMismatchError(PaperscopeError):
    """The index folder was built with another model or an unknown format version."""

    kind = "index_mismatch"


class ModelLoadError(PaperscopeError):
    """The embedding model could not be loaded from the given path or name."""

    kind = "model_load"


class UnauthorizedError(PaperscopeError):
    """A write request without a valid API token."""

    kind = "unauthorized"


class ForbiddenError(PaperscopeError):
    """A write request to a server where writes are disabled (no API token configured)."""

    kind = "forbidden"


class IndexBusyError(PaperscopeError):
    """The index's storage is held by another process and cannot be shared (Qdrant local mode)."""

    kind = "index_busy"
