"""Every rule type, found here: one class per type in this package's modules (see ``base``).

:data:`RULE_TYPES` maps each type's name (its ``type`` literal) to its class, in module-name and
then definition order; :data:`RuleSpec` is the mission schema's rule entry, a union of them all
told apart by ``type``. A module added to this package is picked up without being listed anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from rangeguard.mission.rule_types.base import ActiveWindow, RuleType


def _discover() -> dict[str, type[RuleType]]:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")
    found: dict[str, type[RuleType]] = {}
    pending = list(RuleType.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if "type" not in cls.model_fields:
            continue  # an intermediate base
        name = cls.type_name()
        if name in found:
            raise TypeError(f"rule types {found[name].__name__} and {cls.__name__} both call themselves {name!r}")
        if not cls.kernel:
            raise TypeError(f"rule type {cls.__name__} names no kernel (class attribute `kernel`)")
        found[name] = cls
    return found


RULE_TYPES: dict[str, type[RuleType]] = _discover()
"""Type name -> rule type class."""

if TYPE_CHECKING:
    RuleSpec = RuleType
else:
    RuleSpec = Annotated[Union[tuple(RULE_TYPES.values())], Field(discriminator="type")]
    """A mission's rule entry: one of the rule types, by its ``type``."""


__all__ = ["RULE_TYPES", "ActiveWindow", "RuleSpec", "RuleType"]
