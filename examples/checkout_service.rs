//! A checkout HTTP service (axum on tokio) that publishes `PaymentAttempted` and its
//! outcome through the global dispatcher on every request.
//!
//! ```sh
//! cargo run --features service --example checkout_service
//! curl -X POST 'http://127.0.0.1:3000/checkout?order=o-1&user=u-1&attempt=1&amount_pence=1250&market=uk&platform=web&method=card'
//! ```
//!
//! It listens on `CHECKOUT_LISTEN` (default `127.0.0.1:3000`), sends DogStatsD as
//! `StatsdConfig::from_env` finds the agent (`DD_DOGSTATSD_URL`, `DD_AGENT_HOST`, ...), and
//! Kafka records to `KAFKA_BOOTSTRAP_SERVERS` when it is set. Ctrl-C stops it: the server
//! drains its requests, then the dispatcher's guard delivers what is left, off the runtime's
//! threads, and the delivery report is printed.

use std::time::Duration;

use event_runtime::{Dispatcher, KafkaConfig, StatsdConfig};
use multi_dispatch_events::checkout_service::{router, Publishing};
use multi_dispatch_events::env;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Dispatcher::builder()
        .prefix("checkout")
        .statsd(StatsdConfig::from_env());
    if let Some(kafka) = KafkaConfig::from_env() {
        builder = builder.kafka(kafka);
    }
    let guard = event_runtime::set_global(builder.build()?)?.with_timeout(Duration::from_secs(10));

    let listen = env::var("CHECKOUT_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("checkout service on http://{}", listener.local_addr()?);
    axum::serve(listener, router(Publishing(true)))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;

    let report = tokio::task::spawn_blocking(move || guard.shutdown()).await??;
    println!("{report:?}");
    Ok(())
}
