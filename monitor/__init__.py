"""ipsec-ha-monitor: health monitor for Cisco IPsec stateful failover pairs.

Data flow: poll (SSH) -> parse (TextFSM, monitor.parse) -> records
(monitor.records) -> health -> export.
"""

__version__ = "0.2.0"
