"""Just enough of kustomize to render deploy/kubernetes-ha without kubectl.

It reads ``resources`` (files and folders with their own kustomization), ``namespace``,
and ``patches`` of two kinds: RFC 6902 JSON patches with a ``target``, and a strategic
merge patch that only deletes a resource (``$patch: delete``). Anything else raises, so
that a new patch style in the overlay cannot pass unrendered. When kubectl is installed,
tests/deploy/test_kubernetes_ha.py compares this rendering with ``kubectl kustomize``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.deploy.support import load_yaml, load_yaml_documents


def render(folder: Path) -> list[dict[str, Any]]:
    """Every resource the kustomization in ``folder`` builds, patches applied."""
    kustomization = load_yaml(folder / "kustomization.yaml")
    resources: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        resources += render(path) if path.is_dir() else load_yaml_documents(path)
    resources = copy.deepcopy(resources)
    for patch in kustomization.get("patches", []):
        body = load_yaml(folder / patch["path"])
        if isinstance(body, list):
            target = patch["target"]
            for operation in body:
                apply_operation(find(resources, target["kind"], target["name"]), operation)
        elif body.get("$patch") == "delete":
            resources.remove(find(resources, body["kind"], body["metadata"]["name"]))
        else:
            raise NotImplementedError(f"{patch['path']}: only JSON patches and deletions")
    if "namespace" in kustomization:
        for item in resources:
            if item["kind"] != "Namespace":
                item["metadata"]["namespace"] = kustomization["namespace"]
    return resources


def find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        item for item in resources if item["kind"] == kind and item["metadata"]["name"] == name
    ]
    return found


def apply_operation(document: dict[str, Any], operation: dict[str, Any]) -> None:
    """One RFC 6902 operation (add, replace, remove, test) on ``document``, in place."""
    *parents, last = [
        part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
    ]
    container: Any = document
    for part in parents:
        container = container[int(part)] if isinstance(container, list) else container[part]
    key: Any = last
    if isinstance(container, list) and last != "-":
        key = int(last)
    kind = operation["op"]
    if kind == "test":
        assert container[key] == operation["value"], f"patch test failed: {operation}"
    elif kind == "remove":
        del container[key]
    elif kind == "replace":
        if isinstance(container, dict) and key not in container:
            raise KeyError(f"nothing to replace at {operation['path']}")
        container[key] = operation["value"]
    elif kind == "add" and isinstance(container, list):
        container.insert(len(container) if key == "-" else key, operation["value"])
    elif kind == "add":
        container[key] = operation["value"]
    else:
        raise NotImplementedError(f"JSON patch operation {kind!r}")
