"""The demo resources an account "has": a handful of ECS instances, an RDS instance and an OSS bucket.

Pure and deterministic: ids are derived from the account id, so the same data directory always shows
the same inventory and nothing has to be stored. Field names follow the ECS/RDS/OSS APIs.
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["REGIONS", "account_resources", "ecs_instances", "find_ecs_instance", "search"]

# The regions the resource center answers for; a region outside this list is an input error.
REGIONS = ("cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-shenzhen", "cn-hongkong", "ap-southeast-1")
# Real ids start with a per-region prefix (i-2ze… in Beijing, i-bp1… in Hangzhou).
_ID_PREFIX = {"cn-beijing": "2ze", "cn-hangzhou": "bp1"}
_CREATED = "2025-09-01T08:00Z"
_TAGS = {"app": "agent-identity-demo"}

# (name, region, zone, status, type, cpu, memory MiB, private ip, role)
_ECS = (
    ("agent-web-01", "cn-beijing", "cn-beijing-h", "Running", "ecs.g7.large", 2, 8192, "172.16.0.11", "web"),
    ("agent-worker-01", "cn-beijing", "cn-beijing-h", "Running", "ecs.c7.xlarge", 4, 8192, "172.16.0.12", "worker"),
    ("agent-batch-02", "cn-beijing", "cn-beijing-i", "Stopped", "ecs.g7.large", 2, 8192, "172.16.1.20", "batch"),
    ("analytics-01", "cn-hangzhou", "cn-hangzhou-j", "Running", "ecs.r7.large", 2, 16384, "192.168.0.5",
     "analytics"),
)


def _suffix(account_id: str, name: str, length: int) -> str:
    return hashlib.sha256(f"{account_id}/{name}".encode()).hexdigest()[:length]


def _resource_id(kind: str, account_id: str, name: str, region: str) -> str:
    return f"{kind}-{_ID_PREFIX.get(region, 'uf6')}{_suffix(account_id, name, 17)}"


def _instance(account_id: str, spec: tuple[Any, ...]) -> dict[str, Any]:
    name, region, zone, status, itype, cpu, memory, ip, role = spec
    return {"ResourceType": "ACS::ECS::Instance", "InstanceId": _resource_id("i", account_id, name, region),
            "InstanceName": name, "RegionId": region, "ZoneId": zone, "Status": status, "InstanceType": itype,
            "Cpu": cpu, "Memory": memory, "OSName": "Alibaba Cloud Linux 3.2104 LTS 64 bit",
            "PrivateIpAddress": ip, "CreationTime": _CREATED, "Tags": {**_TAGS, "role": role}}


def _database(account_id: str) -> dict[str, Any]:
    name, region = "agent-identity-db", "cn-beijing"
    return {"ResourceType": "ACS::RDS::DBInstance", "DBInstanceId": _resource_id("rm", account_id, name, region),
            "DBInstanceDescription": name, "RegionId": region, "ZoneId": "cn-beijing-h", "Engine": "MySQL",
            "EngineVersion": "8.0", "DBInstanceClass": "mysql.n2.medium.1", "DBInstanceStatus": "Running",
            "CreationTime": _CREATED, "Tags": {**_TAGS, "role": "database"}}


def _bucket(account_id: str) -> dict[str, Any]:
    return {"ResourceType": "ACS::OSS::Bucket", "Name": "agent-identity-demo", "Region": "cn-beijing",
            "Location": "oss-cn-beijing", "StorageClass": "Standard", "CreationDate": _CREATED,
            "Owner": account_id, "Tags": {**_TAGS, "role": "documents"}}


def ecs_instances(account_id: str) -> list[dict[str, Any]]:
    """Every demo ECS instance of the account, in every region."""
    return [_instance(account_id, spec) for spec in _ECS]


def find_ecs_instance(account_id: str, instance_id: str) -> dict[str, Any] | None:
    """The demo instance with this id, or None."""
    return next((i for i in ecs_instances(account_id) if i["InstanceId"] == instance_id.strip()), None)


def account_resources(account_id: str) -> list[dict[str, Any]]:
    """Everything the account has: ECS instances, then the RDS instance, then the OSS bucket."""
    return [*ecs_instances(account_id), _database(account_id), _bucket(account_id)]


def _text(resource: dict[str, Any]) -> str:
    values = [str(v) for k, v in resource.items() if k != "Tags"] + [str(v) for v in resource["Tags"].values()]
    return " ".join(values).lower()


def search(account_id: str, keyword: str) -> list[dict[str, Any]]:
    """The resources whose id, name, type, region, status or tags contain `keyword` (any case)."""
    needle = keyword.strip().lower()
    return [r for r in account_resources(account_id) if needle in _text(r)]
