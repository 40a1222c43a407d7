import { expect, it } from "vitest";
import { type FieldNode, groupFields } from "./fieldGroups";

const shape = (nodes: FieldNode<string>[]): unknown =>
  nodes.map((n) => (n.kind === "field" ? `${n.label}=${n.name}` : { [`${n.label}(${n.count})`]: shape(n.children) }));

it("groups Kubernetes metadata and other common prefixes", () => {
  const fields = [
    "_timestamp",
    "kubernetes_pod_name",
    "log",
    "kubernetes_namespace_name",
    "kubernetes_labels_app",
    "kubernetes_labels_team",
    "kubernetes_labels_tier",
    "k8s_pod_name",
    "k8s_node_name",
    "service_name",
    "http_method",
    "http_status",
    "http_url",
    "level",
    "node_hostname",
  ];
  expect(shape(groupFields(fields, (f) => f))).toEqual([
    "_timestamp=_timestamp",
    {
      "kubernetes(5)": [
        "pod_name=kubernetes_pod_name",
        "namespace_name=kubernetes_namespace_name",
        { "labels(3)": ["app=kubernetes_labels_app", "team=kubernetes_labels_team", "tier=kubernetes_labels_tier"] },
      ],
    },
    "log=log",
    { "k8s(2)": ["pod_name=k8s_pod_name", "node_name=k8s_node_name"] },
    "service_name=service_name",
    { "http(3)": ["method=http_method", "status=http_status", "url=http_url"] },
    "level=level",
    "node_hostname=node_hostname",
  ]);
});

it("keeps lone prefixed fields flat", () => {
  expect(shape(groupFields(["kubernetes_pod_name", "a_b", "a_c"], (f) => f))).toEqual(["kubernetes_pod_name=kubernetes_pod_name", "a_b=a_b", "a_c=a_c"]);
});
