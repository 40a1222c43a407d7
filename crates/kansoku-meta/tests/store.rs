//! The metadata store's contract, run against SQLite and against the machine's PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kansoku_core::{FieldType, OrgId, StreamKey, StreamName, StreamSchema, StreamType};
use std::time::Duration;

use kansoku_meta::{
    Checkpoint, ClaimOutcome, DashboardFolder, DashboardRow, Error, FileEntry, ForgetOutcome,
    IngesterState, LeaseClaim, MetaStore, OrgQuotas, Role, SavedView, User,
};

async fn stores() -> Vec<(&'static str, MetaStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_dsn = format!("sqlite://{}/meta.sqlite", dir.path().display());
    let sqlite = MetaStore::connect(&sqlite_dsn).await.unwrap();
    let postgres = MetaStore::connect(&kansoku_testkit::fresh_postgres_dsn().await)
        .await
        .unwrap();
    let pg_dir = tempfile::tempdir().unwrap();
    vec![("sqlite", sqlite, dir), ("postgres", postgres, pg_dir)]
}

fn key(name: &str) -> StreamKey {
    StreamKey::new(
        OrgId::parse("default").unwrap(),
        StreamType::Logs,
        StreamName::normalise(name).unwrap(),
    )
}

fn file(path: &str, stream: &StreamKey, min_ts: i64, max_ts: i64) -> FileEntry {
    FileEntry {
        path: path.to_string(),
        stream: stream.clone(),
        min_ts,
        max_ts,
        records: 10,
        raw_bytes: 1000,
        stored_bytes: 100,
        partition: Vec::new(),
        index_path: None,
        index_bytes: 0,
        series_path: None,
        schema_version: 1,
        format_version: 1,
        node: "n1".to_string(),
        created_at: 1,
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    for (backend, store, _dir) in stores().await {
        kansoku_meta::migrations::apply(&store).await.unwrap();
        store
            .ping()
            .await
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
    }
}

#[tokio::test]
async fn users_memberships_and_roles() {
    for (backend, store, _dir) in stores().await {
        let org = OrgId::parse("default").unwrap();
        assert!(store.ensure_org(&org).await.unwrap(), "{backend}");
        assert!(!store.ensure_org(&org).await.unwrap(), "{backend}");
        let user = User {
            email: "a@example.com".into(),
            password_hash: "$argon2id$x".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            is_root: false,
            created_at: 0,
        };
        store.create_user(&user).await.unwrap();
        assert!(matches!(
            store.create_user(&user).await,
            Err(Error::Conflict(_))
        ));
        store
            .set_member_role(&org, &user.email, Role::Viewer)
            .await
            .unwrap();
        assert_eq!(
            store.member_role(&org, &user.email).await.unwrap(),
            Some(Role::Viewer)
        );
        store
            .set_member_role(&org, &user.email, Role::Editor)
            .await
            .unwrap();
        let members = store.list_members(&org).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].role, Role::Editor, "{backend}");
        let other = OrgId::parse("other").unwrap();
        assert_eq!(store.member_role(&other, &user.email).await.unwrap(), None);
        assert!(store.remove_member(&org, &user.email).await.unwrap());
        assert_eq!(store.membership_count(&user.email).await.unwrap(), 0);
        store.delete_user(&user.email).await.unwrap();
        assert!(store.get_user(&user.email).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn ingestion_tokens_are_found_by_digest_until_revoked() {
    for (backend, store, _dir) in stores().await {
        let org = OrgId::parse("default").unwrap();
        store
            .create_ingestion_token(&org, "fluentbit", "digest1", "kso_abc", "root@x")
            .await
            .unwrap();
        assert!(matches!(
            store
                .create_ingestion_token(&org, "fluentbit", "digest2", "kso_def", "root@x")
                .await,
            Err(Error::Conflict(_))
        ));
        let found = store
            .find_ingestion_token("digest1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.name, "fluentbit", "{backend}");
        assert!(
            store
                .revoke_ingestion_token(&org, "fluentbit")
                .await
                .unwrap()
        );
        assert!(
            store
                .find_ingestion_token("digest1")
                .await
                .unwrap()
                .is_none()
        );
        // A revoked name can be reused.
        store
            .create_ingestion_token(&org, "fluentbit", "digest3", "kso_ghi", "root@x")
            .await
            .unwrap();
        assert_eq!(store.list_ingestion_tokens(&org).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn schema_versions_are_written_once() {
    for (backend, store, _dir) in stores().await {
        let stream = key("app");
        store.ensure_stream(&stream).await.unwrap();
        assert_eq!(store.latest_schema(&stream).await.unwrap().version, 0);
        let (v1, _) = StreamSchema::default().merged([("level", FieldType::Utf8)]);
        store.save_schema(&stream, &v1).await.unwrap();
        assert!(
            matches!(
                store.save_schema(&stream, &v1).await,
                Err(Error::Conflict(_))
            ),
            "{backend}"
        );
        let (v2, _) = v1.merged([("code", FieldType::Int64)]);
        store.save_schema(&stream, &v2).await.unwrap();
        assert_eq!(store.latest_schema(&stream).await.unwrap(), v2);
    }
}

#[tokio::test]
async fn manifest_lists_by_time_and_publishes_with_checkpoint() {
    for (backend, store, _dir) in stores().await {
        let stream = key("app");
        store.ensure_stream(&stream).await.unwrap();
        assert_eq!(store.wal_checkpoint("n1").await.unwrap(), None);
        store
            .publish_files(
                &[
                    file("a.parquet", &stream, 0, 99),
                    file("b.parquet", &stream, 100, 199),
                ],
                Some(Checkpoint::unleased("n1", 7)),
            )
            .await
            .unwrap();
        assert_eq!(
            store.wal_checkpoint("n1").await.unwrap(),
            Some(7),
            "{backend}"
        );
        let mut partitioned = file("c.parquet", &stream, 300, 399);
        partitioned.partition = vec![
            ("ns".to_string(), Some("kube-system".to_string())),
            ("app".to_string(), None),
        ];
        let before = kansoku_meta::now_micros();
        store
            .publish_files(&[partitioned.clone()], None)
            .await
            .unwrap();
        let listed = store.list_files(&stream, 300, 400).await.unwrap();
        // The row is stamped with its commit time, whatever the caller said.
        assert!(listed[0].created_at >= before, "{backend}");
        partitioned.created_at = listed[0].created_at;
        assert_eq!(listed, vec![partitioned.clone()], "{backend}");
        assert_eq!(
            store.expire_files(&[partitioned.clone()], 5).await.unwrap(),
            1
        );
        assert_eq!(store.expire_files(&[partitioned], 5).await.unwrap(), 0);
        assert_eq!(store.due_deletions(5, 10).await.unwrap(), ["c.parquet"]);
        let paths = |files: Vec<FileEntry>| files.into_iter().map(|f| f.path).collect::<Vec<_>>();
        assert_eq!(
            paths(store.list_files(&stream, 0, 1000).await.unwrap()),
            ["a.parquet", "b.parquet"]
        );
        assert_eq!(
            paths(store.list_files(&stream, 100, 150).await.unwrap()),
            ["b.parquet"]
        );
        assert_eq!(
            paths(store.list_files(&stream, 99, 100).await.unwrap()),
            ["a.parquet"]
        );
        assert!(
            store
                .list_files(&stream, 200, 300)
                .await
                .unwrap()
                .is_empty()
        );
        let stats = store.stream_stats(&stream.org, None, 1001).await.unwrap();
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].small_files, stats[0].compacted_files), (2, 0));
        assert_eq!(stats[0].records, 20);
        assert_eq!(stats[0].stored_bytes, 200);
        assert_eq!(stats[0].min_ts, Some(0));
        assert_eq!(stats[0].max_ts, Some(199));
        let deleted = store.delete_stream(&stream).await.unwrap();
        assert_eq!(deleted.len(), 2);
        assert!(store.get_stream(&stream).await.unwrap().is_none());
        assert!(store.list_files(&stream, 0, 1000).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_swap_replaces_files_atomically_and_queues_the_old_objects() {
    for (backend, store, _dir) in stores().await {
        let stream = key("app");
        store.ensure_stream(&stream).await.unwrap();
        let mut a = file("a.parquet", &stream, 0, 99);
        a.index_path = Some("a.idx".to_string());
        let b = file("b.parquet", &stream, 100, 199);
        let big = FileEntry {
            raw_bytes: 5000,
            ..file("big.parquet", &stream, 0, 50)
        };
        store
            .publish_files(&[a.clone(), b.clone(), big], None)
            .await
            .unwrap();
        let paths = |files: Vec<FileEntry>| files.into_iter().map(|f| f.path).collect::<Vec<_>>();
        // Only small files committed before the cut-off are candidates.
        let now = kansoku_meta::now_micros();
        assert_eq!(
            paths(
                store
                    .small_files(&stream, 2000, now + 1, 100)
                    .await
                    .unwrap()
            ),
            ["a.parquet", "b.parquet"],
            "{backend}"
        );
        assert!(
            store
                .small_files(&stream, 2000, 0, 100)
                .await
                .unwrap()
                .is_empty()
        );

        let merged = FileEntry {
            records: 20,
            ..file("m.parquet", &stream, 0, 199)
        };
        store
            .queue_deletions(
                &["m.parquet".to_string()],
                i64::MAX,
                kansoku_meta::DeletionReason::Intent,
            )
            .await
            .unwrap();
        assert_eq!(store.pending_deletions().await.unwrap(), 1);
        assert!(
            store
                .swap_files(&[a.clone(), b.clone()], std::slice::from_ref(&merged), 500)
                .await
                .unwrap(),
            "{backend}"
        );
        assert_eq!(
            paths(store.list_files(&stream, 0, 1000).await.unwrap()),
            ["big.parquet", "m.parquet"],
            "{backend}"
        );
        // The output's intent is gone; the inputs' objects (index included) are due at 500.
        assert!(store.due_deletions(499, 10).await.unwrap().is_empty());
        let mut due = store.due_deletions(500, 10).await.unwrap();
        due.sort();
        assert_eq!(due, ["a.idx", "a.parquet", "b.parquet"], "{backend}");
        // A second swap of the same inputs (another compactor) changes nothing.
        let other = file("m2.parquet", &stream, 0, 199);
        assert!(
            !store
                .swap_files(&[a, b], std::slice::from_ref(&other), 500)
                .await
                .unwrap()
        );
        assert_eq!(
            paths(store.list_files(&stream, 0, 1000).await.unwrap()),
            ["big.parquet", "m.parquet"],
            "{backend}"
        );
        for path in &due {
            assert!(store.claim_deletion(path, 500).await.unwrap());
        }
        // A deleter killed after claiming leaves the rows queued and due.
        assert_eq!(store.pending_deletions().await.unwrap(), 3, "{backend}");
        assert_eq!(store.due_deletions(500, 10).await.unwrap().len(), 3);
        for path in &due {
            store.forget_deletion(path).await.unwrap();
            assert!(
                !store.claim_deletion(path, 500).await.unwrap(),
                "gone once forgotten"
            );
        }
        assert_eq!(store.pending_deletions().await.unwrap(), 0, "{backend}");
        // A merge whose output intent was claimed by a deleter cannot commit.
        let late = file("late.parquet", &stream, 0, 10);
        store
            .queue_deletions(
                &["late.parquet".to_string()],
                100,
                kansoku_meta::DeletionReason::Intent,
            )
            .await
            .unwrap();
        assert!(store.claim_deletion("late.parquet", 100).await.unwrap());
        let big = store.list_files(&stream, 0, 1000).await.unwrap()[0].clone();
        assert!(
            !store
                .swap_files(std::slice::from_ref(&big), std::slice::from_ref(&late), 500)
                .await
                .unwrap(),
            "{backend}"
        );
        assert_eq!(
            paths(store.list_files(&stream, 0, 1000).await.unwrap()),
            ["big.parquet", "m.parquet"],
            "{backend}"
        );
        // A retried publish of a checkpoint already committed changes nothing.
        store
            .publish_files(
                &[file("old.parquet", &stream, 0, 10)],
                Some(Checkpoint::unleased("n1", 3)),
            )
            .await
            .unwrap();
        store
            .publish_files(
                &[file("old.parquet", &stream, 0, 10)],
                Some(Checkpoint::unleased("n1", 3)),
            )
            .await
            .unwrap();
        store
            .publish_files(
                &[file("older.parquet", &stream, 0, 10)],
                Some(Checkpoint::unleased("n1", 2)),
            )
            .await
            .unwrap();
        assert_eq!(
            paths(store.list_files(&stream, 0, 1000).await.unwrap()),
            ["big.parquet", "m.parquet", "old.parquet"],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_alert_run_is_claimed_by_exactly_one_node() {
    for (backend, store, _dir) in stores().await {
        // Never run: the first claim inserts the state, a second with the same reading loses.
        assert!(
            store
                .claim_alert_run("default", "a1", 0, 100)
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(
            !store
                .claim_alert_run("default", "a1", 0, 100)
                .await
                .unwrap(),
            "{backend}"
        );
        // Due at 100: concurrent claims from several nodes, one wins.
        let claims = futures::future::join_all(
            (0..8).map(|_| store.claim_alert_run("default", "a1", 100, 200)),
        )
        .await;
        let won = claims.into_iter().filter(|c| *c.as_ref().unwrap()).count();
        assert_eq!(won, 1, "{backend}");
        assert_eq!(
            store
                .alert_state("default", "a1")
                .await
                .unwrap()
                .next_run_at,
            200
        );
        // A stale reading never wins.
        assert!(
            !store
                .claim_alert_run("default", "a1", 100, 300)
                .await
                .unwrap(),
            "{backend}"
        );
    }
}

fn dashboard(id: &str, hash: &str) -> DashboardRow {
    DashboardRow {
        org: "default".into(),
        dashboard_id: id.into(),
        folder_id: "default".into(),
        title: format!("title {id}"),
        body: "{}".into(),
        hash: hash.into(),
        ..DashboardRow::default()
    }
}

#[tokio::test]
async fn dashboard_updates_are_refused_when_the_hash_is_stale() {
    for (backend, store, _dir) in stores().await {
        store.insert_dashboard(&dashboard("1", "h1")).await.unwrap();
        let taken = store.insert_dashboard(&dashboard("1", "h1")).await;
        assert!(
            matches!(taken, Err(Error::Conflict(_))),
            "{backend}: {taken:?}"
        );
        store
            .update_dashboard(&dashboard("1", "h2"), Some("h1"))
            .await
            .unwrap();
        let stale = store
            .update_dashboard(&dashboard("1", "h3"), Some("h1"))
            .await;
        assert!(
            matches!(stale, Err(Error::Conflict(_))),
            "{backend}: {stale:?}"
        );
        let stored = store.get_dashboard("default", "1").await.unwrap().unwrap();
        assert_eq!(stored.hash, "h2", "{backend}");
        store
            .update_dashboard(&dashboard("1", "h4"), None)
            .await
            .unwrap();
        let missing = store.update_dashboard(&dashboard("2", "h1"), None).await;
        assert!(
            matches!(missing, Err(Error::NotFound(_))),
            "{backend}: {missing:?}"
        );
        assert!(
            store.get_dashboard("other", "1").await.unwrap().is_none(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_dashboard_folder_is_deleted_only_when_empty() {
    for (backend, store, _dir) in stores().await {
        let folder = DashboardFolder {
            folder_id: "ops".into(),
            name: "Ops".into(),
            description: String::new(),
        };
        store
            .put_dashboard_folder("default", &folder)
            .await
            .unwrap();
        let mut held = dashboard("1", "h");
        held.folder_id = "ops".into();
        store.insert_dashboard(&held).await.unwrap();
        store.insert_dashboard(&dashboard("2", "h")).await.unwrap();
        let refused = store.delete_dashboard_folder("default", "ops").await;
        assert!(
            matches!(refused, Err(Error::Conflict(_))),
            "{backend}: {refused:?}"
        );
        let in_ops = store.list_dashboards("default", Some("ops")).await.unwrap();
        assert_eq!(in_ops.len(), 1, "{backend}");
        assert_eq!(
            store.list_dashboards("default", None).await.unwrap().len(),
            2
        );
        assert!(
            store.delete_dashboard("default", "1").await.unwrap(),
            "{backend}"
        );
        assert!(
            store
                .delete_dashboard_folder("default", "ops")
                .await
                .unwrap()
        );
        assert!(
            store
                .list_dashboard_folders("default")
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn saved_views_belong_to_their_owner() {
    for (backend, store, _dir) in stores().await {
        let view = SavedView {
            view_id: "v1".into(),
            owner: "ann@example.com".into(),
            name: "errors".into(),
            body: "{}".into(),
            ..SavedView::default()
        };
        store.put_saved_view("default", &view).await.unwrap();
        let renamed = SavedView {
            name: "errors only".into(),
            ..view.clone()
        };
        store.put_saved_view("default", &renamed).await.unwrap();
        let listed = store
            .list_saved_views("default", "ann@example.com")
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{backend}");
        assert_eq!(listed[0].name, "errors only", "{backend}");
        let stolen = SavedView {
            owner: "bob@example.com".into(),
            name: "mine now".into(),
            ..view.clone()
        };
        let refused = store.put_saved_view("default", &stolen).await;
        assert!(
            matches!(refused, Err(Error::NotFound(_))),
            "{backend}: {refused:?}"
        );
        assert!(
            store
                .list_saved_views("default", "bob@example.com")
                .await
                .unwrap()
                .is_empty(),
            "{backend}"
        );
        assert!(
            !store
                .delete_saved_view("default", "bob@example.com", "v1")
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(
            store
                .get_saved_view("default", "ann@example.com", "v1")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .delete_saved_view("default", "ann@example.com", "v1")
                .await
                .unwrap()
        );
    }
}

#[tokio::test]
async fn org_quotas_are_set_replaced_and_absent_for_unknown_orgs() {
    for (backend, store, _dir) in stores().await {
        let org = OrgId::parse("quota-org").unwrap();
        let unknown = OrgId::parse("nobody").unwrap();
        assert_eq!(store.org_quotas(&org).await.unwrap(), None, "{backend}");
        store.ensure_org(&org).await.unwrap();
        assert_eq!(
            store.org_quotas(&org).await.unwrap(),
            Some(OrgQuotas::default()),
            "{backend}: nothing set"
        );
        let set = OrgQuotas {
            ingest_rate_bytes: Some(1000),
            ingest_burst_bytes: None,
            storage_bytes: Some(0),
        };
        assert!(store.set_org_quotas(&org, &set).await.unwrap(), "{backend}");
        assert_eq!(
            store.org_quotas(&org).await.unwrap(),
            Some(set),
            "{backend}"
        );
        let replaced = OrgQuotas {
            storage_bytes: Some(5 << 30),
            ..OrgQuotas::default()
        };
        assert!(store.set_org_quotas(&org, &replaced).await.unwrap());
        assert_eq!(
            store.org_quotas(&org).await.unwrap(),
            Some(replaced),
            "{backend}: a new setting replaces the whole set"
        );
        assert!(
            !store.set_org_quotas(&unknown, &set).await.unwrap(),
            "{backend}: unknown organisation"
        );
        assert_eq!(store.org_quotas(&unknown).await.unwrap(), None);
    }
}

#[tokio::test]
async fn pipelines_are_stored_versioned_and_removed_with_their_stream() {
    for (backend, store, _dir) in stores().await {
        let key = key("piped");
        assert_eq!(store.get_pipeline(&key).await.unwrap(), None, "{backend}");
        assert_eq!(
            store
                .put_pipeline(&key, "{\"steps\":[]}", "a@x")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .put_pipeline(&key, "{\"steps\":[1]}", "b@x")
                .await
                .unwrap(),
            2
        );
        let stored = store.get_pipeline(&key).await.unwrap().unwrap();
        assert_eq!(stored.definition, "{\"steps\":[1]}", "{backend}");
        let listed = store.list_pipelines().await.unwrap();
        assert_eq!(listed.len(), 1, "{backend}");
        assert_eq!((&listed[0].0, &listed[0].1), (&key, &stored));
        assert_eq!((stored.version, stored.updated_by.as_str()), (2, "b@x"));
        assert!(store.delete_pipeline(&key).await.unwrap());
        assert!(!store.delete_pipeline(&key).await.unwrap(), "{backend}");
        assert_eq!(store.get_pipeline(&key).await.unwrap(), None);
        // A deleted stream takes its pipeline with it.
        store.ensure_stream(&key).await.unwrap();
        store
            .put_pipeline(&key, "{\"steps\":[]}", "a@x")
            .await
            .unwrap();
        store.delete_stream(&key).await.unwrap();
        assert_eq!(store.get_pipeline(&key).await.unwrap(), None, "{backend}");
    }
}

fn claim<'a>(instance: &'a str, volume: &'a str, lease: Duration) -> LeaseClaim<'a> {
    LeaseClaim {
        node: "ingester-0",
        instance,
        volume,
        legacy_instance: None,
        http: "10.0.0.1:5080",
        cluster: "10.0.0.1:5082",
        lease,
    }
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_ingester_lease_is_claimed_renewed_taken_over_and_fences_the_old_instance() {
    for (backend, store, _dir) in stores().await {
        let stream = key("leased");
        store.ensure_stream(&stream).await.unwrap();
        let db_now = store.db_now().await.unwrap();
        assert!(
            (db_now - kansoku_meta::now_micros()).abs() < 60_000_000,
            "{backend}: the database clock reads {db_now}"
        );
        assert_eq!(
            store
                .claim_ingester(&claim("a", "volume-1", LEASE))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 1 },
            "{backend}"
        );
        // A process on another volume waits.
        let ClaimOutcome::Held {
            instance,
            remaining,
        } = store
            .claim_ingester(&claim("b", "volume-2", LEASE))
            .await
            .unwrap()
        else {
            panic!("{backend}: a live lease was taken over");
        };
        assert_eq!(instance, "a", "{backend}");
        assert!(
            remaining > Duration::from_secs(20) && remaining <= LEASE,
            "{backend}: {remaining:?} left"
        );
        assert!(
            store.renew_ingester("ingester-0", "a").await.unwrap(),
            "{backend}"
        );
        // The volume's next process takes the row at once (its lock proves "a" is gone).
        assert_eq!(
            store
                .claim_ingester(&claim("b", "volume-1", LEASE))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 2 },
            "{backend}"
        );
        assert!(
            !store.renew_ingester("ingester-0", "a").await.unwrap(),
            "{backend}"
        );
        assert!(
            store.renew_ingester("ingester-0", "b").await.unwrap(),
            "{backend}"
        );

        // The fenced instance cannot commit a flush; nothing of it becomes visible.
        let fenced = Checkpoint {
            node: "ingester-0",
            segment: 4,
            instance: Some("a"),
            last: false,
        };
        let refused = store
            .publish_files(&[file("late.parquet", &stream, 0, 10)], Some(fenced))
            .await;
        assert!(
            matches!(refused, Err(Error::Fenced { ref instance, .. }) if instance == "a"),
            "{backend}: {refused:?}"
        );
        assert!(
            store.list_files(&stream, 0, 100).await.unwrap().is_empty(),
            "{backend}"
        );
        assert_eq!(
            store.wal_checkpoint("ingester-0").await.unwrap(),
            None,
            "{backend}"
        );

        // The holder commits; its drain's last flush marks the row drained in the same step.
        let holder = Checkpoint {
            instance: Some("b"),
            ..fenced
        };
        store
            .publish_files(&[file("b1.parquet", &stream, 0, 10)], Some(holder))
            .await
            .unwrap();
        assert_eq!(
            store.wal_checkpoint("ingester-0").await.unwrap(),
            Some(4),
            "{backend}"
        );
        // Now the fenced instance's checkpoint looks committed: it is still refused, not
        // taken for a harmless retry (which would let it delete its WAL).
        let refused = store
            .publish_files(&[file("late.parquet", &stream, 0, 10)], Some(fenced))
            .await;
        assert!(
            matches!(refused, Err(Error::Fenced { .. })),
            "{backend}: {refused:?}"
        );
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(
            (row.instance.as_str(), row.epoch, row.state),
            ("b", 2, IngesterState::Active)
        );
        assert_eq!(
            store.unflushed_ingesters().await.unwrap().len(),
            1,
            "{backend}"
        );
        let last = Checkpoint {
            segment: 5,
            last: true,
            ..holder
        };
        store
            .publish_files(&[file("b2.parquet", &stream, 0, 10)], Some(last))
            .await
            .unwrap();
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(row.state, IngesterState::Drained, "{backend}");
        assert!(
            store.unflushed_ingesters().await.unwrap().is_empty(),
            "{backend}"
        );

        // A drained row is free for any volume.
        assert_eq!(
            store
                .claim_ingester(&claim("c", "volume-3", Duration::ZERO))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 3 },
            "{backend}"
        );
        // A lapsed lease does not hand the id to another volume: that volume's WAL may hold
        // acknowledged records.
        let held = store
            .claim_ingester(&claim("d", "volume-4", LEASE))
            .await
            .unwrap();
        assert!(
            matches!(held, ClaimOutcome::Held { ref instance, remaining }
                if instance == "c" && remaining == Duration::ZERO),
            "{backend}: {held:?}"
        );
        // Root forgets it (allowed: its lease lapsed): queries stop waiting for it, its holder
        // is fenced, and the other volume takes the id at the next epoch.
        assert_eq!(
            store.forget_ingester("ingester-0").await.unwrap(),
            ForgetOutcome::Forgotten,
            "{backend}"
        );
        assert!(
            store.unflushed_ingesters().await.unwrap().is_empty(),
            "{backend}"
        );
        assert!(
            !store.renew_ingester("ingester-0", "c").await.unwrap(),
            "{backend}"
        );
        let forgotten = Checkpoint {
            node: "ingester-0",
            segment: 9,
            instance: Some("c"),
            last: false,
        };
        assert!(
            matches!(
                store
                    .publish_files(&[file("c.parquet", &stream, 0, 10)], Some(forgotten))
                    .await,
                Err(Error::Fenced { .. })
            ),
            "{backend}"
        );
        assert_eq!(
            store
                .claim_ingester(&claim("d", "volume-4", LEASE))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 4 },
            "{backend}"
        );
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(
            (
                row.instance.as_str(),
                row.volume.as_str(),
                row.state,
                row.http.as_str(),
                row.cluster.as_str(),
                row.lease_us
            ),
            (
                "d",
                "volume-4",
                IngesterState::Active,
                "10.0.0.1:5080",
                "10.0.0.1:5082",
                30_000_000
            ),
            "{backend}"
        );

        // A node whose lease is live cannot be forgotten: it may be running.
        assert!(
            matches!(
                store.forget_ingester("ingester-0").await.unwrap(),
                ForgetOutcome::Live { ref instance, remaining }
                    if instance == "d" && remaining > Duration::from_secs(20)
            ),
            "{backend}"
        );
        assert_eq!(
            store.forget_ingester("unknown-node").await.unwrap(),
            ForgetOutcome::Missing,
            "{backend}"
        );
        assert_eq!(store.list_ingesters().await.unwrap().len(), 1, "{backend}");

        // A clean stop marks its own row drained, never another instance's.
        assert!(
            !store
                .mark_ingester_drained("ingester-0", "c")
                .await
                .unwrap(),
            "{backend}"
        );
        assert!(
            store
                .mark_ingester_drained("ingester-0", "d")
                .await
                .unwrap(),
            "{backend}"
        );
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(row.state, IngesterState::Drained, "{backend}");
    }
}

#[tokio::test]
async fn a_row_from_before_volume_ids_is_taken_by_the_volume_that_names_its_instance() {
    for (backend, store, _dir) in stores().await {
        // A row as the build before migration 11 left it: no volume.
        assert_eq!(
            store
                .claim_ingester(&claim("old", "", LEASE))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 1 },
            "{backend}"
        );
        let upgraded = |legacy| LeaseClaim {
            legacy_instance: legacy,
            ..claim("new", "volume-1", LEASE)
        };
        assert!(
            matches!(
                store.claim_ingester(&upgraded(None)).await.unwrap(),
                ClaimOutcome::Held { .. }
            ),
            "{backend}"
        );
        assert!(
            matches!(
                store
                    .claim_ingester(&upgraded(Some("someone-else")))
                    .await
                    .unwrap(),
                ClaimOutcome::Held { .. }
            ),
            "{backend}"
        );
        assert_eq!(
            store.claim_ingester(&upgraded(Some("old"))).await.unwrap(),
            ClaimOutcome::Claimed { epoch: 2 },
            "{backend}"
        );
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(row.volume, "volume-1", "{backend}");
    }
}

/// Races `instances` claims of one node; returns each outcome.
async fn race(store: &MetaStore, instances: &[String]) -> Vec<kansoku_meta::Result<ClaimOutcome>> {
    futures::future::join_all(instances.iter().map(|instance| {
        let store = store.clone();
        async move {
            let volume = format!("volume-of-{instance}");
            store.claim_ingester(&claim(instance, &volume, LEASE)).await
        }
    }))
    .await
}

/// Exactly one claim won, every other one was told who holds the row.
fn one_winner(
    backend: &str,
    instances: &[String],
    outcomes: &[kansoku_meta::Result<ClaimOutcome>],
) -> String {
    let winners: Vec<&String> = instances
        .iter()
        .zip(outcomes)
        .filter(|(_, outcome)| matches!(outcome, Ok(ClaimOutcome::Claimed { .. })))
        .map(|(instance, _)| instance)
        .collect();
    assert_eq!(winners.len(), 1, "{backend}: {outcomes:?}");
    for outcome in outcomes {
        match outcome {
            Ok(ClaimOutcome::Claimed { .. }) => {}
            Ok(ClaimOutcome::Held { instance, .. }) => {
                assert_eq!(instance, winners[0], "{backend}: {outcomes:?}")
            }
            Err(error) => panic!("{backend}: a claim failed: {error}"),
        }
    }
    winners[0].clone()
}

#[tokio::test]
async fn concurrent_claims_of_one_node_leave_exactly_one_holder() {
    for (backend, store, _dir) in stores().await {
        // A new row.
        let first: Vec<String> = (0..8).map(|i| format!("first-{i}")).collect();
        let outcomes = race(&store, &first).await;
        let winner = one_winner(backend, &first, &outcomes);
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!(row.instance, winner, "{backend}");
        // The winner's volume restarts, then stops cleanly: the drained row is free again.
        let volume = format!("volume-of-{winner}");
        assert_eq!(
            store
                .claim_ingester(&claim("short", &volume, Duration::ZERO))
                .await
                .unwrap(),
            ClaimOutcome::Claimed { epoch: 2 },
            "{backend}"
        );
        assert!(
            store
                .mark_ingester_drained("ingester-0", "short")
                .await
                .unwrap(),
            "{backend}"
        );
        let second: Vec<String> = (0..8).map(|i| format!("second-{i}")).collect();
        let outcomes = race(&store, &second).await;
        let winner = one_winner(backend, &second, &outcomes);
        let row = store.ingester("ingester-0").await.unwrap().unwrap();
        assert_eq!((row.instance, row.epoch), (winner, 3), "{backend}");
    }
}
