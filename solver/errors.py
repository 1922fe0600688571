"""The solver's errors. The CLI shows them as one line ("Error: ..."); the library only raises them."""

from sandbox.errors import SandboxError


class CommitteeError(Exception):
    """Base class of everything the solver raises on purpose."""


class InputError(CommitteeError):
    """A task file, option or configuration is wrong; the message says which and how to fix it."""


class EndpointError(CommitteeError):
    """A model endpoint failed after retries (connection, auth, server error). Never a wrong candidate."""


class ContextTooLong(EndpointError):
    """The prompt does not fit the model's context: deterministic, so never retried; a caller may ask with less."""


__all__ = ["CommitteeError", "ContextTooLong", "EndpointError", "InputError", "SandboxError"]
