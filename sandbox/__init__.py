"""The Docker sandbox: the only place in the project where candidate code runs."""

from sandbox.container import Limits
from sandbox.errors import EngineUnavailable, ImageBuildError, SandboxError
from sandbox.image import ImageSpec, ensure_image
from sandbox.pool import Sandbox, SandboxConfig
from sandbox.result import Job, RunResult, Verdict

__all__ = [
    "EngineUnavailable", "ImageBuildError", "ImageSpec", "Job", "Limits", "RunResult", "Sandbox",
    "SandboxConfig", "SandboxError", "Verdict", "ensure_image",
]  # fmt: skip
