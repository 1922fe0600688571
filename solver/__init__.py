"""committee: many cheap code-model samples checked by real tests; an expensive model only where it helps.

from solver import Committee, ModelConfig, load_tasks
"""

from sandbox.result import Verdict
from solver.committee import Committee
from solver.errors import CommitteeError, EndpointError, InputError
from solver.ledger import Price
from solver.models import ModelConfig
from solver.policy import CommitteeConfig
from solver.solve import Solution
from solver.task import Task, load_tasks

__all__ = [
    "Committee", "CommitteeConfig", "CommitteeError", "EndpointError", "InputError", "ModelConfig", "Price",
    "Solution", "Task", "Verdict", "load_tasks",
]  # fmt: skip
