"""Export layer: snapshots and pair health -> Prometheus metrics."""

from ipsec_ha_monitor.export.metrics import METRICS, SYSLOG_METRICS, ExportView, MetricSpec, render, render_syslog

__all__ = ["METRICS", "SYSLOG_METRICS", "ExportView", "MetricSpec", "render", "render_syslog"]
