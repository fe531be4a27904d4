"""ipsec-ha-monitor: health monitor for Cisco IPsec stateful failover pairs.

Data flow: poll (SSH) -> parse (TextFSM, ipsec_ha_monitor.parse) -> records
(ipsec_ha_monitor.records) -> health -> export.
"""

__version__ = "0.2.0"
