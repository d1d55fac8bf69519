//! The checkout service publishes, per request, `PaymentAttempted` and its outcome through
//! the global dispatcher, with the request's own values; a request it refuses publishes
//! nothing. Served by axum on a tokio runtime and called over loopback with hyper.
#![cfg(feature = "service")]

use std::time::Duration;

use event_runtime::{Dispatcher, Event, RecordingSink};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use multi_dispatch_events::checkout_service::{router, Publishing};
use multi_dispatch_events::order_flow::events::{
    FailureReason, Market, PaymentAttempted, PaymentFailed, PaymentMethod, PaymentSucceeded,
    Platform,
};

async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    uri: &str,
) -> (u16, String) {
    let request = hyper::Request::post(uri)
        .header(hyper::header::HOST, "127.0.0.1")
        .body(Empty::new())
        .unwrap();
    // A connection takes the next request only once it has finished the last.
    sender.ready().await.unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[test]
fn each_request_publishes_its_attempt_and_outcome_and_a_refused_one_nothing() {
    let recording = RecordingSink::new();
    let dispatcher = Dispatcher::builder()
        .prefix("checkout")
        .recording(&recording)
        .build()
        .unwrap();
    let guard = event_runtime::set_global(dispatcher).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answers = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(Publishing(true))).await });
        let stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(connection);
        let mut answers = Vec::new();
        for uri in [
            // Paid.
            "/checkout?order=o-1&user=u-1&attempt=1&amount_pence=1249&market=uk&platform=web&method=card",
            // "u-2"'s bytes sum to 212, not 0 mod 10; 2,500 is 0 mod 50: declined.
            "/checkout?order=o-2&user=u-2&attempt=1&amount_pence=2500&market=fr&platform=ios&method=paypal",
            // "u-0"'s bytes sum to 210, 0 mod 10: its first card attempt fails on the token.
            "/checkout?order=o-3&user=u-0&attempt=1&amount_pence=999&market=it&platform=android&method=card",
            // The retry succeeds.
            "/checkout?order=o-3&user=u-0&attempt=2&amount_pence=999&market=it&platform=android&method=card",
            // Refused: no such market.
            "/checkout?order=o-4&user=u-4&attempt=1&amount_pence=100&market=de&platform=web&method=card",
        ] {
            answers.push(post(&mut sender, uri).await);
        }
        answers
    });
    let report = guard.shutdown().unwrap();
    assert_eq!(report.undelivered(), 0);

    assert_eq!(
        answers,
        [
            (200, "paid".to_owned()),
            (402, "declined".to_owned()),
            (402, "invalid_token".to_owned()),
            (200, "paid".to_owned()),
            (400, "unknown market, platform or method".to_owned()),
        ]
    );
    let attempted: Vec<PaymentAttempted> = recording.events();
    assert_eq!(
        attempted
            .iter()
            .map(|a| (
                a.order_id.as_str(),
                a.attempt,
                a.market,
                a.platform,
                a.method,
                a.amount_pence
            ))
            .collect::<Vec<_>>(),
        [
            (
                "o-1",
                1,
                Market::Uk,
                Platform::Web,
                PaymentMethod::Card,
                1249
            ),
            (
                "o-2",
                1,
                Market::Fr,
                Platform::Ios,
                PaymentMethod::Paypal,
                2500
            ),
            (
                "o-3",
                1,
                Market::It,
                Platform::Android,
                PaymentMethod::Card,
                999
            ),
            (
                "o-3",
                2,
                Market::It,
                Platform::Android,
                PaymentMethod::Card,
                999
            ),
        ]
    );
    let failed: Vec<PaymentFailed> = recording.events();
    assert_eq!(
        failed
            .iter()
            .map(|f| (f.order_id.as_str(), f.user_id.as_str(), f.reason))
            .collect::<Vec<_>>(),
        [
            ("o-2", "u-2", FailureReason::Declined),
            ("o-3", "u-0", FailureReason::InvalidToken)
        ]
    );
    let succeeded: Vec<PaymentSucceeded> = recording.events();
    assert_eq!(
        succeeded
            .iter()
            .map(|s| (s.order_id.as_str(), s.attempt, s.latency))
            .collect::<Vec<_>>(),
        [
            ("o-1", 1, Duration::from_millis(120 + 1249 % 80)),
            ("o-3", 2, Duration::from_millis(120 + 999 % 80))
        ]
    );
    // Every record is one of the three, in the order the requests were served.
    let names: Vec<String> = recording
        .records()
        .iter()
        .map(|r| {
            r.header(event_runtime::header::EVENT_NAME)
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            PaymentAttempted::NAME,
            PaymentSucceeded::NAME,
            PaymentAttempted::NAME,
            PaymentFailed::NAME,
            PaymentAttempted::NAME,
            PaymentFailed::NAME,
            PaymentAttempted::NAME,
            PaymentSucceeded::NAME,
        ]
    );
}
