#!/usr/bin/env python3
"""Checks the Helm chart offline: `helm lint`, a render of every values combination with the
Helm SDK (helm-python-sdk), each manifest validated against the Kubernetes API schemas of the
oldest and newest supported versions (kubernetes-validate, strict: unknown fields fail), and
the chart's own rules — no default password, probes and resources on every container, a
non-root read-only container, a disruption budget per role, each Service selecting pods,
ingesters on volumes with a grace period for their drain. Values that cannot work must stop
the render with a message naming them.

Run by scripts/test.sh in its own virtualenv; exits non-zero on the first failure.
"""

import copy
import sys
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

CHART = Path(__file__).resolve().parent / "kansoku"
KUBE_VERSIONS = ["1.30.0", "1.33.0"]
# Kinds kubernetes-validate has no schema for (CRDs of optional operators).
CUSTOM_KINDS = {"ServiceMonitor"}

HA = {
    "mode": "ha",
    "existingSecret": "kansoku-secrets",
    "config": {"KANSOKU_S3_BUCKET": "kansoku", "KANSOKU_S3_ENDPOINT": "http://minio:9000"},
}
ALERTS = {
    "team.yaml": "apiVersion: kansoku/v1\nkind: Alert\nmetadata: {name: errors}\n",
}

# name → (values, roles expected among the workloads)
COMBINATIONS = {
    "single default": ({}, {"all"}),
    "single with alerts, ingress, service monitor, S3 and PostgreSQL": (
        {
            "alerts": ALERTS,
            "ingress": {"enabled": True, "className": "nginx"},
            "serviceMonitor": {"enabled": True, "basicAuth": {"secretName": "scrape"}},
            "existingSecret": "mine",
            "config": {"KANSOKU_S3_BUCKET": "b", "KANSOKU_RETENTION_DAYS": 30},
        },
        {"all"},
    ),
    "ha default": (HA, {"ingester", "router", "querier", "compactor", "alert-manager"}),
    "ha autoscaled, alerts, three ingesters, no alert manager replicas": (
        {
            **HA,
            "alerts": ALERTS,
            "ingester": {"replicas": 3},
            "alertManager": {"replicas": 0},
            "router": {"autoscaling": {"enabled": True}},
            "querier": {"autoscaling": {"enabled": True}},
            "serviceMonitor": {"enabled": True},
            "ingress": {"enabled": True, "tls": [{"hosts": ["k.example.com"], "secretName": "tls"}]},
            "networkPolicy": {"openPorts": [{"port": 5514}, {"port": 5514, "protocol": "UDP"}]},
        },
        {"ingester", "router", "querier", "compactor"},
    ),
}

# name → (values, text the failure must contain)
REFUSED = {
    "unknown mode": ({"mode": "cluster"}, "mode must be single or ha"),
    "ha without a Secret": ({"mode": "ha", "config": {"KANSOKU_S3_BUCKET": "b"}}, "needs existingSecret"),
    "ha without a bucket": ({"mode": "ha", "existingSecret": "s"}, "KANSOKU_S3_BUCKET"),
    "a secret in config": ({"config": {"KANSOKU_META_DSN": "postgres://u:p@db/k"}}, "is a secret"),
    "a chart-owned setting": ({"config": {"KANSOKU_ROLES": "querier"}}, "set by the chart"),
    "a setting that is not kansoku's": ({"config": {"RUST_LOG": "debug"}}, "KANSOKU_"),
    "a badly named alerts file": ({"alerts": {"../x": "a: 1"}}, "name each alerts file"),
    "ha without ingesters": ({**HA, "ingester": {"replicas": 0}}, "at least one ingester"),
    "a grace period too short to drain": ({"single": {"terminationGracePeriodSeconds": 12}}, "less than 10 s to drain"),
}


def merge(base, extra):
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class StrictLoader(yaml.SafeLoader):
    """Refuses a mapping with a key twice (the API server's decoder does too)."""


def _mapping(loader, node, deep=False):
    keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise Failure(f"duplicate keys {sorted(duplicates)} at line {node.start_mark.line + 1}")
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def render(values):
    chart = helm.Chart.load(str(CHART))
    try:
        rendered = chart.render(values, name="obs", namespace="monitoring", is_install=True)
    finally:
        chart.close()
    documents = []
    for path, text in sorted(rendered.items()):
        if not path.endswith(".yaml"):
            continue
        for document in yaml.load_all(text, Loader=StrictLoader):
            if document:
                documents.append((path, document))
    return documents


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def pod_specs(documents):
    for path, document in documents:
        if document["kind"] in ("StatefulSet", "Deployment"):
            yield document, document["spec"]["template"]


def check_policies(values, documents, roles):
    kinds = {}
    for _, document in documents:
        kinds.setdefault(document["kind"], []).append(document)
    seen_roles = set()
    for workload, template in pod_specs(documents):
        spec = template["spec"]
        label = workload["metadata"]["name"]
        check(spec["securityContext"].get("runAsNonRoot") is True, f"{label}: runAsNonRoot")
        check(spec.get("terminationGracePeriodSeconds", 0) >= 30, f"{label}: grace period")
        for container in spec["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                check(probe in container, f"{label}: no {probe}")
            check(container["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{label}: readiness on /readyz")
            check(container["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{label}: liveness on /healthz")
            resources = container.get("resources", {})
            check(resources.get("requests") and resources.get("limits", {}).get("memory"), f"{label}: resources")
            security = container["securityContext"]
            check(security.get("readOnlyRootFilesystem") is True, f"{label}: read-only root")
            check(security.get("allowPrivilegeEscalation") is False, f"{label}: privilege escalation")
            env = {item["name"]: item for item in container["env"]}
            roles_value = env["KANSOKU_ROLES"]["value"]
            seen_roles.add(roles_value)
            check(env["KANSOKU_NODE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name", f"{label}: node id")
            drain = int(env["KANSOKU_DRAIN_TIMEOUT"]["value"].rstrip("s"))
            stop_signal_after = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
            check(drain + stop_signal_after < spec["terminationGracePeriodSeconds"], f"{label}: the drain outlasts the grace period")
            for item in container["env"]:
                check("PASSWORD" not in item["name"] and "SECRET" not in item["name"] or "valueFrom" in item,
                      f"{label}: a secret as a literal value: {item['name']}")
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            check({"/data", "/tmp"} <= mounts, f"{label}: writable volumes")
            if values["alerts"] and roles_value in ("all", "alert-manager"):
                check("KANSOKU_ALERTS_DIR" in env and "/etc/kansoku/alerts" in mounts, f"{label}: alerts mounted")
        if workload["kind"] == "StatefulSet":
            claims = workload["spec"].get("volumeClaimTemplates", [])
            check([claim["metadata"]["name"] for claim in claims] == ["data"], f"{label}: data on a volume")
            check(spec["terminationGracePeriodSeconds"] >= 120, f"{label}: drain needs time")
    check(seen_roles == roles, f"roles {sorted(seen_roles)} != {sorted(roles)}")
    # Every Service selects the pods of some workload.
    for service in kinds.get("Service", []):
        selector = service["spec"]["selector"]
        matched = [
            workload for workload, template in pod_specs(documents)
            if all(template["metadata"]["labels"].get(key) == value for key, value in selector.items())
        ]
        check(matched, f"service {service['metadata']['name']} selects no pods")
    # Disruption budgets: one per role with pods, in ha mode.
    if values["mode"] == "ha":
        budgets = {pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] for pdb in kinds.get("PodDisruptionBudget", [])}
        check(budgets == roles, f"disruption budgets {sorted(budgets)} != {sorted(roles)}")
    # The cluster port is closed to anything but the release's pods.
    if values["mode"] == "ha" and values["networkPolicy"]["enabled"]:
        policies = kinds.get("NetworkPolicy", [])
        check(len(policies) == 1, "no NetworkPolicy for the ingesters' cluster port")
        guarded = [rule for rule in policies[0]["spec"]["ingress"] if rule.get("from")]
        check(guarded and guarded[0]["ports"][0]["port"] == 5082, "port 5082 not restricted")
    # No password in the chart: the single-mode Secret holds a generated one.
    for secret in kinds.get("Secret", []):
        check(not values.get("existingSecret"), "a Secret rendered although existingSecret is set")
        password = secret["data"]["KANSOKU_ROOT_USER_PASSWORD"]
        check(len(password) >= 32, "generated root password too short")
        again = [d for _, d in render(values) if d["kind"] == "Secret"][0]
        check(again["data"]["KANSOKU_ROOT_USER_PASSWORD"] != password, "the root password is not random")


def validate(documents):
    for kube in KUBE_VERSIONS:
        for path, document in documents:
            if document["kind"] in CUSTOM_KINDS:
                continue
            try:
                kubernetes_validate.validate(document, kube, strict=True)
            except kubernetes_validate.ValidationError as error:
                raise Failure(f"{path} ({document['kind']}) is invalid on Kubernetes {kube}: {error.message} at {list(error.path)}")


def check_dockerfile():
    """The image recipe (it cannot be built here: no container engine on the test machine)."""
    root = CHART.parent.parent.parent
    lines = [line.strip() for line in (root / "Dockerfile").read_text().splitlines()]
    final = [line for line in lines if line.startswith("FROM ")][-1]
    check(final.startswith("FROM gcr.io/distroless/") and final.endswith(":nonroot"), f"final stage: {final}")
    check("USER 65532:65532" in lines, "the image runs as 65532")
    check('CMD ["serve"]' in lines, "the image serves by default")
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                check((root / source).exists(), f"Dockerfile copies {source}, which does not exist")
    ignored = (root / ".dockerignore").read_text().split()
    check("target" in ignored and "web/node_modules" in ignored, ".dockerignore keeps build output out")


def main():
    failures = 0
    try:
        check_dockerfile()
        print("ok   Dockerfile: distroless, non-root, sources present")
    except Failure as error:
        print(f"FAIL Dockerfile: {error}")
        failures += 1
    lint = helm.lint(str(CHART), strict=True)
    problems = [m for m in lint["messages"] if m["severity"] >= 2] + [{"error": e} for e in lint.get("errors", [])]
    if problems:
        print(f"FAIL helm lint --strict: {problems}")
        failures += 1
    else:
        print("ok   helm lint --strict")
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for name, (values, roles) in COMBINATIONS.items():
        try:
            documents = render(values)
            validate(documents)
            check_policies(merge(defaults, values), documents, roles)
            print(f"ok   {name}: {len(documents)} objects valid on Kubernetes {', '.join(KUBE_VERSIONS)}")
        except (Failure, helm.HelmError) as error:
            print(f"FAIL {name}: {error}")
            failures += 1
    for name, (values, expected) in REFUSED.items():
        try:
            render(values)
            print(f"FAIL {name}: rendered, but must be refused")
            failures += 1
        except helm.HelmError as error:
            if expected in str(error):
                print(f"ok   refused: {name}")
            else:
                print(f"FAIL {name}: refused, but without {expected!r}: {error}")
                failures += 1
    if failures:
        print(f"{failures} chart check(s) failed")
        sys.exit(1)
    print("the chart passed every check")


if __name__ == "__main__":
    main()
