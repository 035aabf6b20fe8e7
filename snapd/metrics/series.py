"""Per-VM series kept in plain dicts and rendered straight to the text format.

A fleet of a thousand VMs has about ten thousand per-VM series. Kept as prometheus_client
children, each scrape formats every one of them through generic code (tens of
milliseconds) and each child costs a few hundred bytes; kept here, a scrape renders them
in a few milliseconds from one dict per family. A VM dropped from the policy disappears
from every family at once (``forget``). With several accounts (``set_accounts``) every
per-VM series also carries an ``account`` label; without, the series are as they always were.

The table is also a collector of the registry, so ``registry.collect()`` and
``get_sample_value`` see the same values; ``render`` is what the /metrics endpoint uses.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

__all__ = ["VirtualMachineFamily", "VirtualMachineTable", "timestamp"]


def timestamp(moment: datetime) -> float:
    """Unix seconds; a naive datetime is taken as UTC (snapd's clocks are all UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(value: float) -> str:
    """A sample value as the text format spells it (``NaN``, ``+Inf``, ``-Inf`` included)."""
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class VirtualMachineFamily:
    """One per-VM metric: a gauge, or a counter with one more label (``result``, ``reason``).

    A series exists from its first ``set``/``inc`` until ``remove`` or the table's
    ``forget``; nothing is pre-created. The ``vm`` label value is the VM id as text.
    """

    def __init__(
        self,
        table: VirtualMachineTable,
        name: str,
        documentation: str,
        kind: str,
        label: str | None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.kind = kind
        self.label = label
        self._table = table
        self._values: dict[tuple[int, str], float] = {}

    def set(self, virtual_machine_id: int, value: float, label: str = "") -> None:
        with self._table.lock:
            self._values[(virtual_machine_id, label)] = float(value)

    def inc(self, virtual_machine_id: int, label: str = "", amount: float = 1.0) -> None:
        key = (virtual_machine_id, label)
        with self._table.lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def set_default(self, virtual_machine_id: int, value: float, label: str = "") -> None:
        """Set the series only when it does not exist yet."""
        with self._table.lock:
            self._values.setdefault((virtual_machine_id, label), float(value))

    def remove(self, virtual_machine_id: int, label: str = "") -> None:
        """Drop one series; nothing happens when it does not exist."""
        with self._table.lock:
            self._values.pop((virtual_machine_id, label), None)

    def get(self, virtual_machine_id: int, label: str = "") -> float | None:
        with self._table.lock:
            return self._values.get((virtual_machine_id, label))

    def _forget(self, keep: frozenset[int]) -> None:
        for key in [key for key in self._values if key[0] not in keep]:
            del self._values[key]

    def _exposed_name(self) -> str:
        return self.name + "_total" if self.kind == "counter" else self.name

    def _render(self, lines: list[str]) -> None:
        name = self._exposed_name()
        documentation = self.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {name} {documentation}\n# TYPE {name} {self.kind}\n")
        account = self._table.account_label
        if self.label is None:
            lines.extend(
                f'{name}{{{account(vm)}vm="{vm}"}} {_number(value)}\n'
                for (vm, _), value in self._values.items()
            )
        else:
            label = self.label
            lines.extend(
                f'{name}{{{account(vm)}{label}="{_escape(extra)}",vm="{vm}"}} {_number(value)}\n'
                for (vm, extra), value in self._values.items()
            )

    def _family(self) -> Metric:
        accounts = self._table.accounts
        labels = ["vm"] if self.label is None else ["vm", self.label]
        labels = ["account", *labels] if accounts else labels
        family: CounterMetricFamily | GaugeMetricFamily
        if self.kind == "counter":
            family = CounterMetricFamily(self.name, self.documentation, labels=labels)
        else:
            family = GaugeMetricFamily(self.name, self.documentation, labels=labels)
        for (vm, extra), value in self._values.items():
            values = [str(vm)] if self.label is None else [str(vm), extra]
            family.add_metric([accounts.get(vm, ""), *values] if accounts else values, value)
        return family


class VirtualMachineTable:
    """Every per-VM family of one daemon; a prometheus_client collector.

    All methods are thread-safe. While ``render`` runs on a thread, ``collect`` on that
    thread yields nothing, so that rendering the rest of the registry with
    ``generate_latest`` does not repeat these families.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._families: list[VirtualMachineFamily] = []
        self._hidden = threading.local()
        # VM id -> account name; empty for a policy without accounts (no account label).
        self.accounts: dict[int, str] = {}

    def set_accounts(self, accounts: dict[int, str]) -> None:
        """Label every VM's series with its account from now on (empty: no label)."""
        with self.lock:
            self.accounts = dict(accounts)

    def account_label(self, virtual_machine_id: int) -> str:
        """``account="NAME",`` for a policy with accounts, else ""; under ``lock``."""
        if not self.accounts:
            return ""
        return f'account="{_escape(self.accounts.get(virtual_machine_id, ""))}",'

    def gauge(self, name: str, documentation: str) -> VirtualMachineFamily:
        return self._add(VirtualMachineFamily(self, name, documentation, "gauge", None))

    def counter(self, name: str, documentation: str, label: str | None) -> VirtualMachineFamily:
        """A counter named without ``_total`` (as prometheus_client names counters);
        ``label`` None: labelled by ``vm`` only."""
        return self._add(VirtualMachineFamily(self, name, documentation, "counter", label))

    def _add(self, family: VirtualMachineFamily) -> VirtualMachineFamily:
        self._families.append(family)
        return family

    def forget(self, keep: set[int]) -> None:
        """Drop every series whose VM is not in ``keep``."""
        kept = frozenset(keep)
        with self.lock:
            for family in self._families:
                family._forget(kept)

    def render(self) -> str:
        """Every family in the Prometheus text format 0.0.4."""
        lines: list[str] = []
        with self.lock:
            for family in self._families:
                family._render(lines)
        return "".join(lines)

    def hidden(self) -> _Hidden:
        """A context in which this thread's ``collect`` yields nothing."""
        return _Hidden(self._hidden)

    def collect(self) -> Iterator[Metric]:
        if getattr(self._hidden, "active", False):
            return
        with self.lock:
            families = [family._family() for family in self._families]
        yield from families


class _Hidden:
    def __init__(self, state: threading.local) -> None:
        self._state = state

    def __enter__(self) -> None:
        self._state.active = True

    def __exit__(self, *exc: object) -> None:
        self._state.active = False
