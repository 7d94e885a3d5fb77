"""Exceptions that rangeguard raises on purpose.

Each carries a message that names what is wrong and how to fix it.
"""

from __future__ import annotations


class RangeguardError(Exception):
    """Base class for errors a user can act on."""


class InputError(RangeguardError, ValueError):
    """An argument or data file is not what rangeguard needs.

    The message says which input, what was found and what is allowed.
    """
