"""Per-VM series that can be dropped when a VM leaves the policy."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from prometheus_client.metrics import MetricWrapperBase

__all__ = ["VirtualMachineSeries"]

MetricType = TypeVar("MetricType", bound=MetricWrapperBase)


class VirtualMachineSeries(Generic[MetricType]):
    """A metric whose first label is ``vm``, remembering which label sets exist.

    prometheus_client offers no public way to list a metric's children, yet a VM dropped
    from the policy must disappear from every metric, so the label sets are tracked here.
    The ``vm`` label value is the VM id as text.
    """

    def __init__(self, metric: MetricType) -> None:
        self.metric = metric
        self._label_sets: dict[int, set[tuple[str, ...]]] = {}
        # Held around the metric calls too, so that a concurrent forget cannot leave a
        # child behind that is no longer tracked.
        self._lock = threading.Lock()

    def labels(self, virtual_machine_id: int, *rest: str) -> MetricType:
        """The child for this VM and the remaining label values, created when missing."""
        with self._lock:
            self._label_sets.setdefault(virtual_machine_id, set()).add(rest)
            return self.metric.labels(str(virtual_machine_id), *rest)

    def remove(self, virtual_machine_id: int, *rest: str) -> None:
        """Drop one series; nothing happens when it does not exist."""
        with self._lock:
            self._label_sets.get(virtual_machine_id, set()).discard(rest)
            self.metric.remove(str(virtual_machine_id), *rest)

    def forget(self, keep: set[int]) -> None:
        """Drop every series whose VM is not in ``keep``."""
        with self._lock:
            for virtual_machine_id in [vm for vm in self._label_sets if vm not in keep]:
                for rest in self._label_sets.pop(virtual_machine_id):
                    self.metric.remove(str(virtual_machine_id), *rest)
