"""Alert parameters, from the spec to values, rules, dashboards and the preview, in slots."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chartgen.spec import Alert

#: A value's slot, with its quotes where it is a whole string: chartgen fills a rule's slots
#: with Helm actions, Helm the dashboard's from values, and the preview those as Helm does.
SLOT = re.compile(r"""(["']?)@chartgen:alerts\.([A-Za-z0-9]+)\.([A-Za-z0-9]+)\1""")


@dataclass(frozen=True)
class Slot:
    """A dashboard threshold that follows an alert parameter's value: alerts.<alert>.<param>."""

    alert: str
    param: str
    default: float | int

    @property
    def helm(self) -> str:
        """Helm's replace of the slot, a JSON string, by the value as toJson writes it."""
        value = f'index .Values.alerts "{self.alert}" "{self.param}" | float64 | toJson'
        return f'`"{slot(self.alert, self.param)}"` ({value})'


def slot(alert: str, key: str) -> str:
    """The slot of the value alerts.<alert>.<key>."""
    return f"@chartgen:alerts.{alert}.{key}"


def fill(text: str, value: Callable[[str, str], str]) -> str:
    """The text with each slot, and its quotes, replaced by value(alert, key)."""
    return SLOT.sub(lambda m: value(m.group(2), m.group(3)), text)


def slots(text: str, alerts: Mapping[str, Alert]) -> tuple[Slot, ...]:
    """The slots in a text, each once in order of first use, with the spec's defaults."""
    used = dict.fromkeys((m.group(2), m.group(3)) for m in SLOT.finditer(text))
    return tuple(Slot(alert, param, alerts[alert].params[param]) for alert, param in used)


def format_number(value: float | int) -> str:
    """A number as Helm's toJson (Go's JSON) writes it: 5 and 0.00001 where repr has 5.0, 1e-05."""
    number = float(value)
    if number and not 1e-6 <= abs(number) < 1e21:
        return re.sub(r"e-0(?=\d$)", "e-", repr(number))
    return format(Decimal(repr(number)).normalize(), "f")


def alert_values(alert: Alert) -> dict[str, Any]:
    """The values of an alert: on/off, severity, for, and each parameter's default."""
    return {"enabled": True, "severity": alert.severity, "for": alert.for_, **alert.params}


def alert_params(values: Mapping[str, Any]) -> dict[tuple[str, str], float | int]:
    """Every alert parameter of validated values as a number, decimal text as Helm reads it."""
    return {
        (alert, key): float(value) if isinstance(value, str) else value
        for alert, settings in values["alerts"].items()
        for key, value in settings.items()
        if key not in {"enabled", "severity", "for"}
    }
