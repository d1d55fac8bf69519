-- The order flow's warehouse view, in SQL over the tables the loader writes
-- (`cargo run --example warehouse_loader`). The same text runs on PostgreSQL and SQLite.
-- $1 is an order-id prefix: '' for every order, or one run's prefix.
-- Each query is introduced by a `-- name:` line; order_flow --warehouse runs them all.

-- name: events
-- Events per type.
SELECT 'order.placed', count(*) FROM order_placed WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'payment.attempted', count(*) FROM payment_attempted WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'payment.succeeded', count(*) FROM payment_succeeded WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'payment.failed', count(*) FROM payment_failed WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'order.sent_to_restaurant', count(*) FROM order_sent_to_restaurant WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'order.collected', count(*) FROM order_collected WHERE order_id LIKE CAST($1 AS TEXT) || '%'
UNION ALL SELECT 'order.delivered', count(*) FROM order_delivered WHERE order_id LIKE CAST($1 AS TEXT) || '%';

-- name: attempts
-- Payment attempts per market and platform (what the StatsD counter also says).
SELECT market, platform, count(*)
FROM payment_attempted
WHERE order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY market, platform;

-- name: failures
-- Payment failures per market and platform.
SELECT market, platform, count(*)
FROM payment_failed
WHERE order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY market, platform;

-- name: ordering_users
-- Distinct users who placed an order.
SELECT count(DISTINCT user_id)
FROM order_placed
WHERE order_id LIKE CAST($1 AS TEXT) || '%';

-- name: affected_users
-- How many distinct users did a payment failure hit, per market? (No counter can say.)
SELECT market, count(DISTINCT user_id)
FROM payment_failed
WHERE order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY market;

-- name: transient_and_blocked
-- Of the orders with a failed payment: paid on a later attempt (transient) or never (blocked).
WITH failed AS (
    SELECT DISTINCT order_id FROM payment_failed WHERE order_id LIKE CAST($1 AS TEXT) || '%'
), paid AS (
    SELECT DISTINCT order_id FROM payment_succeeded WHERE order_id LIKE CAST($1 AS TEXT) || '%'
)
SELECT
    COALESCE(sum(CASE WHEN paid.order_id IS NOT NULL THEN 1 ELSE 0 END), 0),
    COALESCE(sum(CASE WHEN paid.order_id IS NULL THEN 1 ELSE 0 END), 0)
FROM failed LEFT JOIN paid ON paid.order_id = failed.order_id;

-- name: failures_per_user
-- Affected users by how many failed payments they had (4 means 4 or more).
SELECT bucket, count(*)
FROM (
    SELECT CASE WHEN count(*) >= 4 THEN 4 ELSE count(*) END AS bucket
    FROM payment_failed
    WHERE order_id LIKE CAST($1 AS TEXT) || '%'
    GROUP BY user_id
) per_user
GROUP BY bucket;

-- name: invalid_token
-- The bug under investigation: distinct users hit by invalid_token, and its failures.
SELECT count(DISTINCT user_id), count(*)
FROM payment_failed
WHERE order_id LIKE CAST($1 AS TEXT) || '%' AND reason = 'invalid_token';

-- name: dishes
-- Dishes ordered per market, from the line items nested in each order: the JSON list is
-- unnested by position (`line_items -> n` is item n in PostgreSQL's jsonb and in SQLite's
-- JSON text alike), for orders of up to 64 line items.
WITH RECURSIVE item_index(n) AS (
    SELECT 0 UNION ALL SELECT n + 1 FROM item_index WHERE n < 63
)
SELECT market, CAST(sum(CAST(line_items -> n ->> 'quantity' AS BIGINT)) AS BIGINT)
FROM order_placed JOIN item_index ON line_items -> n IS NOT NULL
WHERE order_id LIKE CAST($1 AS TEXT) || '%'
GROUP BY market;

-- name: revenue_at_risk
-- What the orders with a failed payment were worth, by the reason of each order's first
-- failure and by market: never paid (blocked) or paid on a retry. (No counter can say.)
WITH first_attempt AS (
    SELECT order_id, min(attempt) AS attempt
    FROM payment_failed
    WHERE order_id LIKE CAST($1 AS TEXT) || '%'
    GROUP BY order_id
), first_failure AS (
    SELECT f.order_id, f.reason, f.market
    FROM payment_failed f
    JOIN first_attempt a ON a.order_id = f.order_id AND a.attempt = f.attempt
), basket AS (
    SELECT order_id, max(amount_pence) AS pence
    FROM payment_attempted
    WHERE order_id LIKE CAST($1 AS TEXT) || '%'
    GROUP BY order_id
), paid AS (
    SELECT DISTINCT order_id FROM payment_succeeded WHERE order_id LIKE CAST($1 AS TEXT) || '%'
)
SELECT
    ff.reason,
    ff.market,
    CAST(sum(CASE WHEN paid.order_id IS NULL THEN 1 ELSE 0 END) AS BIGINT),
    CAST(sum(CASE WHEN paid.order_id IS NULL THEN b.pence ELSE 0 END) AS BIGINT),
    CAST(sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE 1 END) AS BIGINT),
    CAST(sum(CASE WHEN paid.order_id IS NULL THEN 0 ELSE b.pence END) AS BIGINT)
FROM first_failure ff
JOIN basket b ON b.order_id = ff.order_id
LEFT JOIN paid ON paid.order_id = ff.order_id
GROUP BY ff.reason, ff.market;
