"""`paperscope split ID`: take a paper out of its work (undo a wrong merge), for good."""

from __future__ import annotations

from api.commands.versions import add_arguments
from api.commands.versions import run_split as run

__all__ = ["add_arguments", "run"]
