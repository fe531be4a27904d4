"""Export layer: snapshots and pair health -> Prometheus metrics."""

from monitor.export.metrics import METRICS, ExportView, MetricSpec, render

__all__ = ["METRICS", "ExportView", "MetricSpec", "render"]
