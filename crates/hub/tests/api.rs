//! The index and member API over real HTTP, through the same client the CLI uses.

mod common;

use hubapi::{ClientError, HubClient, ListQuery};
use metainfo::Torrent;

fn api_status(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Api { status, code, .. } => (status, code),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_search_and_personal_torrents() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = {
        let mut store = hub::open_store(dir.path()).unwrap();
        let a = store.add_member("alice", 1).unwrap().1;
        let b = store.add_member("bob", 1).unwrap().1;
        let key = |p| tracker::request::passkey_to_string(&p);
        (key(a), key(b))
    };
    let hub = common::start(common::config(dir.path())).await;
    let anon = HubClient::new(&hub.url()).unwrap();
    let as_alice = anon.clone().with_passkey(Some(alice.clone()));
    let as_bob = anon.clone().with_passkey(Some(bob.clone()));

    let doom = common::private_torrent(dir.path(), "doom-1993-shareware.zip", 300_000);
    let keen = common::private_torrent(dir.path(), "commander-keen.zip", 70_000);

    // Publishing needs a member: the client will not even try without a passkey, and the hub
    // refuses member routes without one.
    assert!(matches!(
        anon.publish(doom.clone(), "Doom", "games", "").await,
        Err(ClientError::NoPasskey)
    ));
    let addr = hub.addr;
    let (status, body) = tokio::task::spawn_blocking(move || common::http_get(addr, "/api/v1/me"))
        .await
        .unwrap();
    let e: hubapi::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, e.error.code.as_str()), (401, "unauthorized"));
    let bad_key = anon.clone().with_passkey(Some("0".repeat(32)));
    assert_eq!(api_status(bad_key.me().await.unwrap_err()).0, 401);

    let published = as_alice
        .publish(
            doom.clone(),
            "Doom (1993) shareware",
            "games",
            "id Software's classic",
        )
        .await
        .unwrap();
    assert_eq!(published.uploader, "alice");
    as_bob
        .publish(keen, "Commander Keen", "games", "")
        .await
        .unwrap();

    // Refusals: duplicate content, duplicate name, not a torrent, not private, bad name.
    let dup = as_bob
        .publish(doom.clone(), "Other name", "games", "")
        .await;
    assert_eq!(api_status(dup.unwrap_err()), (409, "conflict".into()));
    let other = common::private_torrent(dir.path(), "other.bin", 1000);
    let dup_name = as_bob
        .publish(other.clone(), "Commander Keen", "games", "")
        .await;
    assert_eq!(api_status(dup_name.unwrap_err()).0, 409);
    let garbage = as_bob.publish(b"d4:spam".to_vec(), "x", "games", "").await;
    assert_eq!(api_status(garbage.unwrap_err()), (400, "invalid".into()));
    let public = {
        let path = dir.path().join("public.bin");
        std::fs::write(&path, [7u8; 5000]).unwrap();
        metainfo::create_torrent(&path, &metainfo::CreateOptions::default(), &mut |_, _| {})
            .unwrap()
            .to_bytes()
    };
    let refused = as_bob
        .publish(public, "public", "games", "")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not private"), "{refused}");
    let control = as_bob.publish(other, "bad\nname", "games", "").await;
    assert_eq!(api_status(control.unwrap_err()).0, 400);

    // Search by words (prefix), by exact name, by category.
    let found = anon
        .torrents(&ListQuery {
            q: Some("doo shareware".into()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.torrents[0].name, "Doom (1993) shareware");
    let injection = anon
        .torrents(&ListQuery {
            q: Some("\" OR * NEAR(".into()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(injection.total, 0);
    let all_games = anon
        .torrents(&ListQuery {
            category: Some("games".into()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all_games.total, 2);
    let keen = anon.torrent_named("Commander Keen").await.unwrap();
    assert!(matches!(
        anon.torrent_named("Quake").await,
        Err(ClientError::NoSuchTorrent(_))
    ));

    // The personal .torrent: the member's passkey in the announce URL, the info dict untouched.
    let personal = as_bob.personal_torrent(published.id).await.unwrap();
    let t = Torrent::from_bytes(&personal).unwrap();
    let original = Torrent::from_bytes(&doom).unwrap();
    assert_eq!(t.hashes, original.hashes);
    assert_eq!(t.info_bytes, original.info_bytes);
    assert_eq!(t.announce, Some(format!("{}/announce/{bob}", hub.url())));
    let wrong = anon.clone().with_passkey(Some("f".repeat(32)));
    assert_eq!(
        api_status(wrong.personal_torrent(keen.id).await.unwrap_err()).0,
        401
    );

    let detail = anon.torrent(published.id).await.unwrap();
    assert_eq!(detail.files.len(), 1);
    assert_eq!(detail.summary.size, 300_000);
    assert_eq!(api_status(anon.torrent(9999).await.unwrap_err()).0, 404);

    // Member pages need a member; suspension locks the API too.
    let me = as_bob.me().await.unwrap();
    assert_eq!((me.name.as_str(), me.uploaded, me.ratio), ("bob", 0, None));
    assert_eq!(api_status(wrong.member("alice").await.unwrap_err()).0, 401);
    assert_eq!(as_bob.member("alice").await.unwrap().name, "alice");
    assert_eq!(api_status(as_bob.member("carol").await.unwrap_err()).0, 404);
    hub::open_store(dir.path())
        .unwrap()
        .set_suspended("bob", true)
        .unwrap();
    assert_eq!(
        api_status(as_bob.me().await.unwrap_err()),
        (403, "suspended".into())
    );

    let stats = anon.stats().await.unwrap();
    assert_eq!((stats.members, stats.torrents), (2, 2));

    // Unknown routes and malformed queries answer with the stable error shape.
    let raw = tokio::task::spawn_blocking({
        let addr = hub.addr;
        move || {
            [
                "/api/v1/nothing",
                "/api/v1/torrents?limit=-3",
                "/api/v1/torrents/abc",
                "/api/v1/torrents/99999999999/torrent",
            ]
            .map(|target| common::http_get(addr, target))
        }
    })
    .await
    .unwrap();
    for (status, body) in raw {
        let e: hubapi::ErrorBody = serde_json::from_slice(&body).expect("JSON error body");
        assert!(status == 404 || status == 400, "{status}");
        assert!(!e.error.message.is_empty());
    }
    hub.stop().await;
}
