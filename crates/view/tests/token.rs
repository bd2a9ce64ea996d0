//! The viewer with a token (what `hark serve --view` uses beyond loopback), and its POST
//! guard, over a real socket with curl. Loopback only.

use std::process::Command;
use std::sync::Arc;

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
            let _ = view::serve(l, app, std::future::pending()).await;
        });
    });
    format!("http://127.0.0.1:{port}")
}

/// Status line code, headers and body of one curl call.
fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "-D",
            "/dev/stderr",
            "-w",
            "\n%{http_code}",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("curl is needed for this test: {e}"));
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        String::from_utf8_lossy(&out.stderr).to_ascii_lowercase(),
        body.to_string(),
    )
}

#[test]
fn a_token_is_needed_and_a_link_turns_it_into_a_cookie() {
    let base = start(|port| {
        let mut c = view::Config::new(view::HostCheck::Loopback(port));
        c.token = Some("s3cret-token".into());
        c
    });
    let files = format!("{base}/api/files");
    let (code, _, body) = curl(&[&format!("{base}/")]);
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("?token="), "{body}");
    assert_eq!(curl(&[&files]).0, 401);
    assert_eq!(curl(&[&format!("{base}/?token=wrong")]).0, 401);
    assert_eq!(curl(&["-H", "Authorization: Bearer wrong", &files]).0, 401);
    // The printed link: 303 to the same path without the token, which is now a cookie.
    let (code, head, _) = curl(&[&format!("{base}/?token=s3cret-token")]);
    assert_eq!(code, 303);
    assert!(head.contains("location: /\r\n"), "{head}");
    assert!(
        head.contains(
            "set-cookie: hark_view_token=s3cret-token; path=/; httponly; samesite=strict"
        ),
        "{head}"
    );
    let (code, _, body) = curl(&["-H", "Cookie: a=b; hark_view_token=s3cret-token", &files]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body, "[]");
    assert_eq!(curl(&["-H", "Cookie: hark_view_token=nope", &files]).0, 401);
    assert_eq!(
        curl(&["-H", "Authorization: Bearer s3cret-token", &files]).0,
        200
    );
    // The token does not replace the POST header, nor the Host check.
    let up = format!("{base}/api/upload?name=x.har");
    let auth = "Authorization: Bearer s3cret-token";
    let (code, _, body) = curl(&["-H", auth, "--data-binary", "{}", &up]);
    assert_eq!(code, 403, "{body}");
    let (code, _, _) = curl(&["-H", auth, "-H", "Host: evil.example", &files]);
    assert_eq!(code, 403);
}

#[test]
fn uploads_off_and_no_catalog() {
    let base = start(|port| {
        let mut c = view::Config::new(view::HostCheck::Loopback(port));
        c.max_upload = 0;
        c
    });
    let (code, _, body) = curl(&[&format!("{base}/api/config")]);
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["maxUpload"], 0);
    assert!(v["catalog"].is_null());
    let (code, _, body) = curl(&[
        "-H",
        "X-Hark-Upload: 1",
        "--data-binary",
        "{}",
        &format!("{base}/api/upload"),
    ]);
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("uploads are off"), "{body}");
    assert_eq!(curl(&[&format!("{base}/api/catalog")]).0, 404);
}
