"""Where the test data lives. Everything is inside the repository: a fresh
clone runs its tests with nothing beside it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "cisco_ios"
# Real device outputs from public test fixtures, copied into the repository
# with their sources (MANIFEST.tsv) and licences (NOTICE).
CORPUS = REPO / "tests" / "corpus"
MANIFEST = CORPUS / "MANIFEST.tsv"

# Corpus folder -> the command we send for it. Folders of commands the monitor
# does not parse (the other detail variants, application group, standby
# delay/internal) are not listed; `show crypto ikev2 sa detail` is read by
# the same template as `show crypto ikev2 sa`.
CORPUS_COMMANDS = {
    "show_standby": "show standby",
    "show_standby_all": "show standby all",
    "show_standby_brief": "show standby brief",
    "show_redundancy_states": "show redundancy states",
    "show_redundancy_inter_device": "show redundancy inter-device",
    "show_redundancy": "show redundancy",
    "show_redundancy_switchover_history": "show redundancy switchover history",
    "show_crypto_ipsec_sa": "show crypto ipsec sa",
    "show_crypto_isakmp_sa": "show crypto isakmp sa",
    "show_crypto_ikev2_sa": "show crypto ikev2 sa",
    "show_crypto_ikev2_sa_detail": "show crypto ikev2 sa detail",
    "show_crypto_session": "show crypto session",
    "show_version": "show version",
    "show_logging": "show logging",
}


def command_of(folder: Path) -> str:
    """ntc-templates convention: the folder names the command."""
    return folder.name.replace("_", " ")
