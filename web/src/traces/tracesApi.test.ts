import { expect, it } from "vitest";
import { defaultLogStream, normaliseAttributeFilter } from "./tracesApi";

it("reads attribute filters as sent or as stored", () => {
  const fields = ["http_method", "service_k8s_pod_name", "k8s_namespace_name"];
  expect(normaliseAttributeFilter("http.method=POST", fields)).toBe("http_method=POST");
  expect(normaliseAttributeFilter("k8s.pod.name:shop-1, http_method = GET", fields)).toBe("service_k8s_pod_name=shop-1, http_method=GET");
  expect(normaliseAttributeFilter("k8s.namespace.name=prod", fields)).toBe("k8s_namespace_name=prod");
  expect(normaliseAttributeFilter("http.url=http://x:8080/a", fields)).toBe("http_url=http://x:8080/a");
  expect(normaliseAttributeFilter(" , ", fields)).toBe("");
  expect(normaliseAttributeFilter("novalue", fields)).toBe("novalue");
});

it("defaults the logs stream to one with trace ids", () => {
  const streams = [
    { name: "app", schema: [{ name: "log" }] },
    { name: "default", schema: [{ name: "message" }] },
    { name: "otel", schema: [{ name: "trace_id" }] },
  ];
  expect(defaultLogStream(streams, "default")).toBe("otel");
  expect(defaultLogStream([...streams, { name: "default2", schema: [{ name: "trace_id" }] }], "default2")).toBe("default2");
  expect(defaultLogStream(streams.slice(0, 2), "default")).toBe("app");
  expect(defaultLogStream(streams.slice(0, 1), "default")).toBe("app");
  expect(defaultLogStream([], "default")).toBe("");
});
