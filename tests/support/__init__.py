"""Helpers shared by the tests (and bench/parse_bench.py), one module per
subject; conftest.py keeps only fixtures.

- paths: the repository, the fixtures, the vendored corpus (tests/corpus)
  and the corpus folders of the commands we parse
- waiting: wait_until, the one wait-for-a-condition loop
- processes: free ports, `ipsec-ha-monitor` subprocesses, stopping them
- exposition: the Prometheus text format read back into samples
- inventories: inventories written from a running lab
- lab: netmiko sessions to lab routers and a sampler of their state
- snapshots: snapshots rendered from lab router state, without SSH
- b2b: snapshots and the inventory of an IOS-XE box-to-box pair, built from records
- prometheus: a real Prometheus server, the shipped rules (scaled)
- alertmanager: a real Alertmanager, alone or a node of a cluster, the shipped
  configuration (scaled) and a webhook server recording its notifications
- dashboards: the committed Grafana dashboards' panels and queries
"""
