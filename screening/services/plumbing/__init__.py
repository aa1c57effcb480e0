"""Shared plumbing: the command's context, the ledger writer, CSV reading, spill maps,
the guard on every file written, the key files, and mail and command transport."""

from screening.services.plumbing.context import Actor, Context
from screening.services.plumbing.outputs import Output, output, shown

__all__ = ["Actor", "Context", "Output", "output", "shown"]
