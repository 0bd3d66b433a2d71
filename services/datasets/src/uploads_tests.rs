use super::*;
use mltools_core::ErrorKind;

fn uploads(dir: &std::path::Path, tweak: impl FnOnce(&mut DatasetsConfig)) -> Arc<Uploads> {
    let mut config = DatasetsConfig::with_data_dir(dir);
    tweak(&mut config);
    Arc::new(Uploads::new(&config))
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("uploads")).map_or(0, |entries| entries.count())
}

fn read_all(lease: &mut UploadLease) -> String {
    let mut text = String::new();
    lease.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn chunks_append_in_order_and_a_lease_reads_them_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |_| {});
    let id = uploads.begin("sales.csv", Some(10)).unwrap();
    assert_eq!(uploads.append(id, 0, b"a,b\n").unwrap(), 4);
    assert_eq!(uploads.append(id, 4, b"1,2\n").unwrap(), 8);
    // The same chunk again at its offset: a retry, answered without writing it twice.
    assert_eq!(uploads.append(id, 4, b"1,2\n").unwrap(), 8);
    assert_eq!(uploads.append(id, 8, b"3\n").unwrap(), 10);
    assert_eq!(uploads.label(id).unwrap(), "sales.csv");
    let mut lease = uploads.lease(id).unwrap();
    assert_eq!(lease.label(), "sales.csv");
    assert_eq!(read_all(&mut lease), "a,b\n1,2\n3\n");
    lease.commit();
    drop(lease);
    let error = uploads.label(id).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(
        files_in(dir.path()),
        0,
        "the committed upload's file is removed"
    );
}

#[test]
fn gaps_and_overlaps_are_refused_naming_both_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |_| {});
    let id = uploads.begin("x.csv", None).unwrap();
    uploads.append(id, 0, b"abcd").unwrap();
    for offset in [2, 9] {
        let error = uploads.append(id, offset, b"zz").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "a chunk at offset {offset}, but 4 bytes were received"
            )),
            "{message}"
        );
        assert!(message.contains(&id.to_string()), "{message}");
        assert!(message.contains("x.csv"), "{message}");
    }
    // A different chunk at the last chunk's offset is an overlap, not a retry.
    let error = uploads.append(id, 0, b"abc").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let mut lease = uploads.lease(id).unwrap();
    assert_eq!(read_all(&mut lease), "abcd");
}

#[test]
fn sizes_beyond_the_declared_size_or_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |config| config.max_upload_bytes = 8);
    let error = uploads.begin("big.csv", Some(9)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        error.to_string(),
        "big.csv: an upload of 9 bytes exceeds the limit of 8 bytes (`max_upload_bytes`)"
    );
    let declared = uploads.begin("d.csv", Some(4)).unwrap();
    let error = uploads.append(declared, 0, b"12345").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("exceed its declared size of 4 bytes"),
        "{error}"
    );
    uploads.append(declared, 0, b"12").unwrap();
    let error = uploads.lease(declared).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("incomplete: 2 of its 4 bytes"),
        "{error}"
    );
    let open = uploads.begin("o.csv", None).unwrap();
    uploads.append(open, 0, b"1234567").unwrap();
    let error = uploads.append(open, 7, b"89").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("9 bytes exceed the limit of 8 bytes"),
        "{error}"
    );
    let huge = vec![b'x'; MAX_UPLOAD_CHUNK_BYTES + 1];
    let roomy = uploads_with_room(dir.path());
    let id = roomy.begin("h.csv", None).unwrap();
    let error = roomy.append(id, 0, &huge).unwrap_err();
    assert!(error.to_string().contains("a chunk of"), "{error}");
}

fn uploads_with_room(dir: &std::path::Path) -> Arc<Uploads> {
    uploads(dir, |config| config.max_upload_bytes = 1 << 30)
}

#[test]
fn a_failed_import_gives_the_upload_back_and_an_abort_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |_| {});
    let id = uploads.begin("a.csv", None).unwrap();
    uploads.append(id, 0, b"a\n1\n").unwrap();
    let lease = uploads.lease(id).unwrap();
    // Leased: neither appended to nor leased twice.
    let error = uploads.append(id, 4, b"2\n").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Overloaded, "{error}");
    assert_eq!(uploads.lease(id).unwrap_err().kind(), ErrorKind::Overloaded);
    drop(lease);
    let mut again = uploads.lease(id).unwrap();
    assert_eq!(read_all(&mut again), "a\n1\n");
    // Aborted while leased: the lease keeps reading; the file goes when it drops.
    uploads.abort(id).unwrap();
    assert_eq!(uploads.abort(id).unwrap_err().kind(), ErrorKind::NotFound);
    drop(again);
    assert_eq!(files_in(dir.path()), 0);
    assert_eq!(uploads.open_count(), 0);
}

#[test]
fn idle_uploads_expire_and_busy_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |config| config.upload_idle_timeout_ms = 1_000);
    let idle = uploads.begin("idle.csv", None).unwrap();
    let leased = uploads.begin("leased.csv", None).unwrap();
    let _lease = uploads.lease(leased).unwrap();
    let now = Instant::now();
    assert!(uploads.sweep(now).is_empty());
    let later = now + Duration::from_secs(2);
    let expired = uploads.sweep(later);
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].id, expired[0].label.as_str()),
        (idle, "idle.csv")
    );
    let error = uploads.append(idle, 0, b"x").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(
        error
            .to_string()
            .contains(&format!("upload {idle} does not exist")),
        "{error}"
    );
    assert_eq!(
        files_in(dir.path()),
        1,
        "only the leased upload's file is left"
    );
}

#[test]
fn open_uploads_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |config| config.max_open_uploads = 2);
    let first = uploads.begin("1.csv", None).unwrap();
    uploads.begin("2.csv", None).unwrap();
    let error = uploads.begin("3.csv", None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Overloaded);
    assert!(error.to_string().contains("`max_open_uploads`"), "{error}");
    uploads.abort(first).unwrap();
    assert!(uploads.begin("3.csv", None).is_ok());
}

#[test]
fn labels_are_checked_and_ids_differ() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = uploads(dir.path(), |_| {});
    for (label, reason) in [
        ("", "empty"),
        ("a\nb", "control"),
        (&"x".repeat(256) as &str, "255 bytes"),
    ] {
        let error = uploads.begin(label, None).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains(reason), "{error}");
    }
    let ids: std::collections::HashSet<UploadId> = (0..16).map(|_| random_id()).collect();
    assert_eq!(ids.len(), 16);
}

#[test]
fn stale_upload_files_are_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = DatasetsConfig::with_data_dir(dir.path());
    std::fs::create_dir_all(dir.path().join("uploads")).unwrap();
    std::fs::write(dir.path().join("uploads/upload-abc.csv"), "x").unwrap();
    std::fs::write(dir.path().join("uploads/keep.txt"), "x").unwrap();
    assert_eq!(remove_stale_uploads(&config), 1);
    assert_eq!(files_in(dir.path()), 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever offsets a caller sends, the file holds exactly the accepted chunks, in
        /// order, and the answer is always the bytes received.
        #[test]
        fn the_file_holds_exactly_the_accepted_chunks(
            chunks in proptest::collection::vec((0u64..40, 0usize..8), 1..24),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let uploads = uploads(dir.path(), |_| {});
            let id = uploads.begin("p.csv", None).unwrap();
            let mut expected = Vec::new();
            for (index, (offset, length)) in chunks.into_iter().enumerate() {
                let data = vec![b'a' + (index % 26) as u8; length];
                let before = expected.len() as u64;
                match uploads.append(id, offset, &data) {
                    Ok(received) => {
                        if offset == before {
                            expected.extend_from_slice(&data);
                        }
                        prop_assert_eq!(received, expected.len() as u64);
                    }
                    Err(error) => {
                        prop_assert_ne!(offset, before);
                        prop_assert_eq!(error.kind(), ErrorKind::InvalidInput);
                    }
                }
            }
            let mut lease = uploads.lease(id).unwrap();
            let mut read = Vec::new();
            lease.read_to_end(&mut read).unwrap();
            prop_assert_eq!(read, expected);
        }
    }
}
