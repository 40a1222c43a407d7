//! Pod metadata from the paths of container log files, named as OpenTelemetry's resource
//! attributes are (normalised): `k8s_namespace_name`, `k8s_pod_name`, `k8s_pod_uid`,
//! `k8s_container_name`, `k8s_container_restart_count`, `k8s_container_id`.

/// What a path tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodPath<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub pod: &'a str,
    /// Pod UID (`/var/log/pods` paths).
    pub uid: Option<&'a str>,
    /// Container name.
    pub container: &'a str,
    /// Restart count (`/var/log/pods` paths: the file's number).
    pub restart_count: Option<i64>,
    /// Container id (`/var/log/containers` paths).
    pub container_id: Option<&'a str>,
}

/// `…/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (the kubelet's layout) or
/// `…/containers/<pod>_<namespace>_<container>-<id>.log` (its symlinks).
pub fn parse(path: &str) -> Option<PodPath<'_>> {
    let mut parts = path.rsplit('/');
    let file = parts.next()?;
    let parent = parts.next()?;
    if parent == "containers" {
        return containers_link(file);
    }
    let pod_dir = parts.next()?;
    if parts.next()? != "pods" {
        return None;
    }
    // `3.log`, or a rotated `3.log.20251201-101010`.
    let (number, _) = file.split_once(".log")?;
    let restart_count = number.parse().ok();
    // Namespaces and pod names cannot hold `_`; the UID is last.
    let mut fields = pod_dir.splitn(3, '_');
    let namespace = fields.next()?;
    let pod = fields.next()?;
    let uid = fields.next()?;
    if namespace.is_empty() || pod.is_empty() || uid.is_empty() || parent.is_empty() {
        return None;
    }
    Some(PodPath {
        namespace,
        pod,
        uid: Some(uid),
        container: parent,
        restart_count,
        container_id: None,
    })
}

fn containers_link(file: &str) -> Option<PodPath<'_>> {
    let stem = file.strip_suffix(".log")?;
    let mut fields = stem.splitn(3, '_');
    let pod = fields.next()?;
    let namespace = fields.next()?;
    let container_and_id = fields.next()?;
    let (container, id) = container_and_id.rsplit_once('-')?;
    if pod.is_empty() || namespace.is_empty() || container.is_empty() || id.is_empty() {
        return None;
    }
    Some(PodPath {
        namespace,
        pod,
        uid: None,
        container,
        restart_count: None,
        container_id: Some(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_parse() {
        let pods = parse("/var/log/pods/shop_cart-7d9f-x2_0a1b-2c3d/app/3.log").unwrap();
        assert_eq!(
            pods,
            PodPath {
                namespace: "shop",
                pod: "cart-7d9f-x2",
                uid: Some("0a1b-2c3d"),
                container: "app",
                restart_count: Some(3),
                container_id: None,
            }
        );
        let link = parse("/var/log/containers/cart-7d9f-x2_shop_app-4f5e6d.log").unwrap();
        assert_eq!(link.namespace, "shop");
        assert_eq!(link.pod, "cart-7d9f-x2");
        assert_eq!(link.container, "app");
        assert_eq!(link.container_id, Some("4f5e6d"));
        let rotated = parse("/var/log/pods/shop_cart_uid/app/0.log.20251201-101010").unwrap();
        assert_eq!(rotated.restart_count, Some(0));
        assert_eq!(rotated.container, "app");
        for other in [
            "/var/log/syslog",
            "app.log",
            "/var/log/pods/bad/app/0.log",
            "",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }
}
