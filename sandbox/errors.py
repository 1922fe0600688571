"""Errors the sandbox raises; the CLI turns them into one-line messages."""


class SandboxError(Exception):
    """Base class: the sandbox itself could not do its job (never a verdict on a candidate)."""


class EngineUnavailable(SandboxError):
    """No Docker engine answers."""


class ImageBuildError(SandboxError):
    """The sandbox image could not be built."""
