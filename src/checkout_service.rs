//! A checkout service, as a team would write one: an axum handler that, on every request,
//! publishes `PaymentAttempted` and then its outcome (`PaymentSucceeded` or
//! `PaymentFailed`) through the global dispatcher. `examples/checkout_service.rs` runs it,
//! `tests/checkout_service.rs` checks what it publishes, and `benches/checkout_latency.rs`
//! measures what publishing adds to its request latency.
//!
//! `POST /checkout?order=o-1&user=u-1&attempt=1&amount_pence=1250&market=uk&platform=web&method=card`
//! answers `200 paid` or `402` with the failure reason. The payment provider is simulated
//! in process and answers at once, so the latency measured is the service's own.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use event_runtime::Tag;
use serde::Deserialize;

use crate::order_flow::events::{
    FailureReason, Market, PaymentAttempted, PaymentFailed, PaymentMethod, PaymentSucceeded,
    Platform,
};

/// The query of one checkout request.
#[derive(Debug, Deserialize)]
pub struct CheckoutRequest {
    /// The order id.
    pub order: String,
    /// The user id.
    pub user: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// The basket value.
    pub amount_pence: u64,
    /// `uk`, `fr` or `it`.
    pub market: String,
    /// `android`, `ios` or `web`.
    pub platform: String,
    /// `card`, `apple-pay` or `paypal`.
    pub method: String,
}

/// Whether the service publishes its events: the benchmark's baseline runs the same
/// handler without them.
#[derive(Clone, Copy, Debug)]
pub struct Publishing(pub bool);

/// The service's routes. With `Publishing(false)` it does the same work but publishes no
/// event (it still moves the request's fields into `PaymentAttempted`, which the simulated
/// provider reads).
pub fn router(publishing: Publishing) -> Router {
    Router::new()
        .route("/checkout", post(checkout))
        .with_state(publishing)
}

/// The tag whose value is `text`, if any.
fn tag<T: Tag>(text: &str) -> Option<T> {
    (0..)
        .map_while(T::from_index)
        .find(|tag| tag.value() == text)
}

/// The simulated provider: a stale saved-card token fails on a first attempt for one user
/// in ten, and one basket value in 50 is declined.
fn provider(payment: &PaymentAttempted) -> Result<Duration, FailureReason> {
    let user_bucket = payment.user_id.bytes().map(u64::from).sum::<u64>() % 10;
    if payment.method == PaymentMethod::Card && payment.attempt == 1 && user_bucket == 0 {
        Err(FailureReason::InvalidToken)
    } else if payment.amount_pence % 50 == 0 {
        Err(FailureReason::Declined)
    } else {
        Ok(Duration::from_millis(120 + payment.amount_pence % 80))
    }
}

async fn checkout(
    State(Publishing(publishing)): State<Publishing>,
    Query(request): Query<CheckoutRequest>,
) -> (StatusCode, &'static str) {
    let (Some(market), Some(platform), Some(method)) = (
        tag::<Market>(&request.market),
        tag::<Platform>(&request.platform),
        tag::<PaymentMethod>(&request.method),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "unknown market, platform or method",
        );
    };
    // The request's strings move into the events, from one to the next: publishing takes
    // the event by reference, so nothing is copied for it.
    let attempted = PaymentAttempted {
        order_id: request.order,
        user_id: request.user,
        attempt: request.attempt,
        market,
        platform,
        method,
        amount_pence: request.amount_pence,
    };
    if publishing {
        event_runtime::publish(&attempted);
    }
    let outcome = provider(&attempted);
    let PaymentAttempted {
        order_id,
        user_id,
        attempt,
        ..
    } = attempted;
    match outcome {
        Ok(latency) => {
            if publishing {
                event_runtime::publish(&PaymentSucceeded {
                    order_id,
                    user_id,
                    attempt,
                    market,
                    platform,
                    method,
                    latency,
                });
            }
            (StatusCode::OK, "paid")
        }
        Err(reason) => {
            if publishing {
                event_runtime::publish(&PaymentFailed {
                    order_id,
                    user_id,
                    attempt,
                    provider_code: format!("{}-{attempt}", reason.value()),
                    market,
                    platform,
                    method,
                    reason,
                });
            }
            (StatusCode::PAYMENT_REQUIRED, reason.value())
        }
    }
}
