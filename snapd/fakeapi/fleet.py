"""The fleet the fake starts with: VMs and their weekly backups, all drawn from a seed."""

from __future__ import annotations

import random
import string
from datetime import datetime, timedelta

from snapd.fakeapi.errors import JsonObject
from snapd.fakeapi.model import BackupRecord, VirtualMachineRecord

_TEMPLATES: tuple[JsonObject, ...] = (
    {
        "id": 1077,
        "name": "Ubuntu 24.04 LTS",
        "description": "Ubuntu 24.04 LTS",
        "documentation": "https://ubuntu.com/server/docs",
    },
    {
        "id": 1052,
        "name": "Debian 12",
        "description": "Debian 12 (bookworm)",
        "documentation": "https://www.debian.org/doc/",
    },
    {
        "id": 1061,
        "name": "AlmaLinux 9",
        "description": "AlmaLinux 9",
        "documentation": None,
    },
)
_DATA_CENTERS: tuple[tuple[int, str], ...] = (
    (17, "nl-srv-nodebackups"),
    (19, "us-srv-nodebackups"),
    (21, "fr-srv-nodebackups"),
    (22, "lt-srv-nodebackups"),
)
DEFAULT_BACKUP_SIZE_KB = 15240192


def build_virtual_machines(
    generator: random.Random, count: int, first_id: int, now: datetime
) -> list[VirtualMachineRecord]:
    """Create ``count`` running, unlocked VMs with consecutive ids from ``first_id``.

    Addresses come from the documentation ranges (203.0.113.0/24, 2001:db8::/32) so that
    nothing here points at a real machine. Every other VM has IPv6.
    """
    machines = []
    for index in range(count):
        virtual_machine_id = first_id + index
        hostname = f"srv{virtual_machine_id}.hstgr.cloud"
        data_center_id, _ = generator.choice(_DATA_CENTERS)
        age = timedelta(days=generator.randint(30, 400), seconds=generator.randrange(86400))
        ipv4, ipv6 = _addresses(generator, index, hostname)
        machines.append(
            VirtualMachineRecord(
                virtual_machine_id=virtual_machine_id,
                subscription_id="".join(
                    generator.choices(string.ascii_letters + string.digits, k=17)
                ),
                data_center_id=data_center_id,
                plan="KVM 2",
                hostname=hostname,
                cpus=2,
                memory=8192,
                disk=102400,
                bandwidth=8388608,
                ns1="153.92.2.6",
                ns2="1.1.1.1",
                ipv4=ipv4,
                ipv6=ipv6,
                template=dict(generator.choice(_TEMPLATES)),
                created_at=(now - age).replace(microsecond=0),
            )
        )
    return machines


def _addresses(
    generator: random.Random, index: int, hostname: str
) -> tuple[list[JsonObject], list[JsonObject] | None]:
    """The VM's IPv4 address, and an IPv6 address for every other VM (documentation ranges)."""
    ipv4 = [
        {
            "id": 50000 + generator.randrange(900000),
            "address": f"203.0.113.{index % 254 + 1}",
            "ptr": hostname,
        }
    ]
    ipv6 = None
    if index % 2 == 0:
        ipv6 = [
            {
                "id": 50000 + generator.randrange(900000),
                "address": f"2001:db8::{index + 1:x}",
                "ptr": hostname,
            }
        ]
    return ipv4, ipv6


def backup_location(data_center_id: int) -> str:
    """The backup location name for a data center (the first one for unknown ids)."""
    for known_id, location in _DATA_CENTERS:
        if known_id == data_center_id:
            return location
    return _DATA_CENTERS[0][1]


def seed_backups(
    generator: random.Random,
    machine: VirtualMachineRecord,
    now: datetime,
    next_backup_id: int,
) -> list[BackupRecord]:
    """Give ``machine`` one or two weekly backups, the newest one to six days before ``now``.

    Ids are consecutive from ``next_backup_id``; the result is newest first.
    """
    newest = now - timedelta(days=generator.randint(1, 6), seconds=generator.randrange(86400))
    backups = []
    for week in range(generator.randint(1, 2)):
        backups.append(
            BackupRecord(
                backup_id=next_backup_id + week,
                size=DEFAULT_BACKUP_SIZE_KB + generator.randrange(-2_000_000, 2_000_000),
                location=backup_location(machine.data_center_id),
                created_at=(newest - timedelta(days=7 * week)).replace(microsecond=0),
            )
        )
    return backups
