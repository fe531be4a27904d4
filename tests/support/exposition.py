"""The Prometheus text format read back as a Prometheus server reads it
(prometheus_client's own parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def parse_samples(text: str) -> Samples:
    """name -> {sorted label items: value}; a series exposed twice fails."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            assert key not in samples.get(sample.name, {}), f"duplicate series {sample.name}{dict(key)}"
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of one series (every label given), None when absent."""
    return samples.get(name, {}).get(tuple(sorted(labels.items())))
