"""Export layer: snapshots and pair health -> Prometheus metrics."""

from ipsec_ha_monitor.export.metrics import METRICS, ExportView, MetricSpec, render

__all__ = ["METRICS", "ExportView", "MetricSpec", "render"]
