//! The viewer with a token (what `hark serve --view` uses beyond loopback), and its POST
//! guard, over a real socket with curl. Loopback only.

use std::sync::Arc;
use testkit::curl;

/// Serve `cfg` over an empty library on 127.0.0.1; returns the base URL.
fn start(cfg: impl FnOnce(u16) -> view::Config) -> String {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std_listener.set_nonblocking(true).unwrap();
    let cfg = cfg(port);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let app = view::router_with(Arc::new(view::Library::new()), cfg);
            let _ = view::serve(l, app, view::DEFAULT_HEADER_TIMEOUT, std::future::pending()).await;
        });
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_token_is_needed_and_a_link_turns_it_into_a_cookie() {
    let base = start(|port| {
        let mut c = view::Config::new(view::HostCheck::Loopback(port));
        c.token = Some("s3cret-token".into());
        c
    });
    let files = format!("{base}/api/files");
    let r = curl(format!("{base}/")).send();
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("?token="), "{}", r.text());
    assert_eq!(curl(&files).send().status, 401);
    assert_eq!(curl(format!("{base}/?token=wrong")).send().status, 401);
    let wrong = curl(&files).header("Authorization: Bearer wrong").send();
    assert_eq!(wrong.status, 401);
    // The printed link: 303 to the same path without the token, which is now a cookie.
    let r = curl(format!("{base}/?token=s3cret-token")).send();
    assert_eq!(r.status, 303);
    let head = r.head.to_ascii_lowercase();
    assert!(head.contains("location: /\r\n"), "{head}");
    assert!(
        head.contains(
            "set-cookie: hark_view_token=s3cret-token; path=/; httponly; samesite=strict"
        ),
        "{head}"
    );
    let r = curl(&files)
        .header("Cookie: a=b; hark_view_token=s3cret-token")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "[]");
    let r = curl(&files).header("Cookie: hark_view_token=nope").send();
    assert_eq!(r.status, 401);
    let r = curl(&files)
        .header("Authorization: Bearer s3cret-token")
        .send();
    assert_eq!(r.status, 200);
    // The token does not replace the POST header, nor the Host check.
    let up = format!("{base}/api/upload?name=x.har");
    let auth = "Authorization: Bearer s3cret-token";
    let r = curl(&up).header(auth).data("{}").send();
    assert_eq!(r.status, 403, "{}", r.text());
    let r = curl(&files)
        .header(auth)
        .header("Host: evil.example")
        .send();
    assert_eq!(r.status, 403);
}

#[test]
fn uploads_can_be_turned_off_and_there_is_no_catalog_without_a_service() {
    let base = start(|port| {
        let mut c = view::Config::new(view::HostCheck::Loopback(port));
        c.max_upload = 0;
        c
    });
    let r = curl(format!("{base}/api/config")).send();
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["maxUpload"], 0);
    assert!(v["catalog"].is_null());
    let r = curl(format!("{base}/api/upload"))
        .header("X-Hark-Upload: 1")
        .data("{}")
        .send();
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("uploads are off"), "{}", r.text());
    assert_eq!(curl(format!("{base}/api/catalog")).send().status, 404);
}
